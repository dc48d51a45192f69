import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from cnnlab.evaluate.metrics import confusion_matrix, evaluate_logits, precision_recall_f1


@pytest.mark.parametrize("seed", range(5))
def test_metrics_agree_with_scikit_learn_even_with_absent_classes(seed):
    rng = np.random.default_rng(seed)
    n_classes = 6
    labels = rng.integers(0, 5, 200)  # class 5 never occurs...
    predicted = np.where(rng.random(200) < 0.6, labels, rng.integers(0, 6, 200))
    predicted[predicted == 4] = 3  # ...and class 4 is never predicted
    cm = confusion_matrix(labels, predicted, n_classes)
    np.testing.assert_array_equal(cm, sk.confusion_matrix(labels, predicted, labels=range(n_classes)))
    ours = precision_recall_f1(cm)
    theirs = sk.precision_recall_fscore_support(labels, predicted, labels=range(n_classes), zero_division=0)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b)
    macro = sk.f1_score(labels, predicted, labels=range(n_classes), average="macro", zero_division=0)
    assert ours[2].mean() == pytest.approx(macro)


def test_evaluation_summary_from_logits():
    logits = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1, 1, 1])
    ev = evaluate_logits(logits, labels, ["a", "b"])
    summary = ev.summary()
    assert summary["test_accuracy"] == 0.75 and summary["test_size"] == 4
    assert summary["test_loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item(), abs=1e-6)
    assert ev.confusion.tolist() == [[1, 0], [1, 2]] and ev.confusion.sum() == 4
    assert [r["support"] for r in ev.per_class()] == [1, 3]
    assert ev.confidence[2] == pytest.approx(torch.softmax(logits[2], 0).max().item())
