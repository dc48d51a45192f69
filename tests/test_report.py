import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab import layout
from cnnlab.io import read_json, write_csv, write_json
from cnnlab.report.build import build_report
from cnnlab.report.document import Heading, Image as Img, Table, Text, to_html, to_markdown
from tests.conftest import ROOT


def test_markdown_and_html_render_the_same_blocks(tmp_path):
    png = tmp_path / "pic.png"
    Image.fromarray(np.full((4, 4, 3), 128, dtype=np.uint8)).save(png)
    blocks = [Heading("Title", 1), Text("a < b"), Table(["x", "y|z"], [["1", "2"]]), Img(Path("pic.png"), "cap")]
    md = to_markdown(blocks)
    assert md.startswith("# Title\n\na < b\n\n| x | y\\|z |\n|---|---|\n| 1 | 2 |")
    assert "![cap](pic.png)" in md
    html = to_html(blocks, tmp_path, "T")
    assert "<h1>Title</h1>" in html and "<p>a &lt; b</p>" in html and "<td>2</td>" in html
    embedded = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert base64.b64decode(embedded) == png.read_bytes()


TEST_IMAGES = 200


def fake_outputs(root: Path, variants: dict[str, float]) -> None:
    """What the per-variant stages leave behind, with given test accuracies."""
    import shutil

    shutil.copy(ROOT / "claims.yaml", root / "claims.yaml")
    (root / "data" / "raw").mkdir(parents=True)
    write_json(root / layout.RAW / "meta.json", {"source": "digits (scikit-learn)", "count": 30, "image_size": 8,
                                                 "channels": 1, "classes": ["a", "b", "c"]})
    write_json(root / layout.DOWNLOAD_METRICS, {"images": 30, "classes": 3, "skipped": {
        "total": 0, "empty": 0, "not_an_image": 0, "truncated": 0, "too_large": 0}})
    write_json(root / layout.SPLIT, {"train": list(range(20)), "val": list(range(20, 25)),
                                     "test": list(range(25, 30))})
    for name, acc in variants.items():
        mdir, rdir = root / layout.model_dir(name), root / layout.variant_report_dir(name)
        write_json(mdir / "metrics.json", {"val_accuracy": acc - 0.01, "best_epoch": 2, "parameters": 1234,
                                           "val_loss": 0.5})
        write_json(mdir / "timing.json", {"train_seconds": 3.5})
        write_csv(mdir / "history.csv", ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"],
                  [[1, 1.0, 0.5, 1.1, 0.4, 0.001], [2, 0.5, 0.8, 0.6, acc - 0.01, 0.001]])
        write_json(rdir / "metrics.json", {"test_accuracy": acc, "test_loss": 0.4, "test_macro_f1": acc,
                                           "test_size": TEST_IMAGES})
        right = round(acc * TEST_IMAGES)  # the first `right` test images, so the better variant's set holds the other's
        rows = [[i, 0, 0 if i < right else 1, 0.9] for i in range(TEST_IMAGES)]
        write_csv(rdir / "predictions.csv", ["index", "actual", "predicted", "confidence"], rows)
        run = root / layout.run_dir(name, 42)  # repeat@V-42: the first (and only) seed's run
        write_csv(run / "test" / "predictions.csv", ["index", "actual", "predicted", "confidence"], rows)
        write_json(run / "train" / "timing.json", {"train_seconds": 3.5})
        write_json(run / "train" / "metrics.json", read_json(mdir / "metrics.json"))  # repeat@V-42 copies it
        write_json(rdir / "misclassified.json", {"misclassified": 2, "misclassified_fraction": 0.4})
        row = {"deletion_auc": 0.125, "insertion_auc": 0.75, "randomisation_rank_correlation": 0.1,
               "passes_randomisation": True, "reference": False}
        write_json(rdir / "saliency_metrics.json", {
            "images": 3, "randomisation_max_correlation": 0.5,
            "methods": {"gradcam": row, "occlusion": {**row, "randomisation_rank_correlation": 0.8,
                                                      "passes_randomisation": False},
                        "sobel": {**row, "randomisation_rank_correlation": 1.0, "passes_randomisation": False,
                                  "reference": True}}})
        (rdir / "saliency").mkdir()
        for picture in ("confusion", "misclassified", "saliency/methods", "saliency/targets"):
            Image.fromarray(np.zeros((5, 5, 3), dtype=np.uint8)).save(rdir / f"{picture}.png")


def test_report_names_every_active_variant_with_its_numbers(tmp_path, monkeypatch, repo_params):
    import dataclasses

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    fake_outputs(tmp_path, {"baseline": 0.91, "small_filters": 0.95})
    params = dataclasses.replace(repo_params, active=["baseline", "small_filters"])
    build_report(params)
    md = (tmp_path / "reports" / "report.md").read_text()
    html = (tmp_path / "reports" / "report.html").read_text()
    assert "| baseline | 0.9000 | 0.9100 | 0.9100 [0.8615, 0.9458] | 0.4000 | 1,234 | 3.5 | 2 |" in md
    assert "Training seeds: 42. 95% intervals of test accuracy: exact binomial over 200 test images, one seed " \
           "(the test set's sampling error alone" in md
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    from scipy.stats import binomtest

    exact = binomtest(182, TEST_IMAGES).proportion_ci(0.95, method="exact")
    assert summary["baseline"] == {"test_accuracy_mean": 0.91, "test_accuracy_low": round(exact.low, 6),
                                   "test_accuracy_high": round(exact.high, 6), "seeds": 1}
    assert "under-trained" not in md  # both had their best epoch before the last
    # every original claim, with a verdict or "not run"
    assert ("| stacked 3x3 filters beat the 5x5 baseline | small_filters 73, baseline 69 (validation accuracy) | "
            "small_filters 95.0 [91.0, 97.6] vs baseline 91.0 [86.1, 94.6]; difference +4.0 [+1.0, +4.0] points") in md
    assert "| REPRODUCED | judged on digits, not cifar10 |" in md and "1 reproduced, 10 not run." in md
    assert "| ResNet-18 reaches 91% test accuracy within 20 epochs | resnet18 91 (test accuracy) | - | not run |" in md
    assert "| baseline | gradcam | 0.125 | 0.750 | +0.10 | passes |" in md
    assert "| baseline | occlusion | 0.125 | 0.750 | +0.80 | FAILS: maps ignore the weights |" in md
    assert "| small_filters | sobel | 0.125 | 0.750 | +1.00 | reference (ignores the model) |" in md
    assert "| small_filters | 0.9400 | 0.9500 |" in md
    assert "Best test accuracy: small_filters (95.00%)" in md
    assert "20 train, 5 val, 5 test" in md
    assert "Data: skipped" not in md  # nothing was skipped
    for name in ("baseline", "small_filters"):
        assert f"## {name}" in md and f"variants/{name}/saliency/methods.png" in md
        assert f"<h2>{name}</h2>" in html
    assert "## dropout_all" not in md and "| dropout_all |" not in md  # only what is active
    # self-contained: every image inline, nothing fetched from elsewhere
    assert html.count("data:image/png;base64,") == 2 + 4 * 2
    assert not re.search(r'src="(?!data:)', html)
    Image.open(tmp_path / "reports" / "curves.png").verify()


def test_a_variant_whose_best_epoch_was_its_last_is_flagged(tmp_path, monkeypatch, repo_params):
    import dataclasses

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    fake_outputs(tmp_path, {"baseline": 0.91, "small_filters": 0.95})
    for metrics in (layout.model_dir("small_filters") / "metrics.json",
                    layout.run_dir("small_filters", 42) / "train" / "metrics.json"):
        write_json(tmp_path / metrics, {**read_json(tmp_path / metrics), "epochs_trained": 2})  # best epoch 2 of 2
    build_report(dataclasses.replace(repo_params, active=["baseline", "small_filters"]))
    md = (tmp_path / "reports" / "report.md").read_text()
    assert "| small_filters (under-trained?) | 0.9400 |" in md and "| baseline | 0.9000 |" in md
    assert "Possibly under-trained (the best validation epoch was the last one; more epochs might still help): " \
           "small_filters." in md


def test_with_several_seeds_every_seeds_run_counts_for_the_flag(tmp_path, monkeypatch, repo_params):
    import dataclasses
    import shutil

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    fake_outputs(tmp_path, {"baseline": 0.91, "small_filters": 0.95})
    for name in ("baseline", "small_filters"):
        for seed in (7, 3):
            shutil.copytree(tmp_path / layout.run_dir(name, 42), tmp_path / layout.run_dir(name, seed))
    # the first seed finished; seed 3 of small_filters had its best epoch last
    late = tmp_path / layout.run_dir("small_filters", 3) / "train" / "metrics.json"
    write_json(late, {**read_json(late), "epochs_trained": 2})
    build_report(dataclasses.replace(repo_params, active=["baseline", "small_filters"], seeds=[42, 7, 3]))
    md = (tmp_path / "reports" / "report.md").read_text()
    assert "| small_filters (under-trained?) | 0.9400 |" in md and "| baseline | 0.9000 |" in md
    assert "more epochs might still help): small_filters (1 of 3 seeds)." in md


def test_skipped_source_files_are_one_line_in_the_report(tmp_path, monkeypatch, repo_params):
    import dataclasses

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    fake_outputs(tmp_path, {"baseline": 0.91})
    write_json(tmp_path / layout.DOWNLOAD_METRICS, {"images": 30, "classes": 3, "skipped": {
        "total": 3, "empty": 0, "not_an_image": 1, "truncated": 2, "too_large": 0}})
    build_report(dataclasses.replace(repo_params, active=["baseline"]))
    md = (tmp_path / "reports" / "report.md").read_text()
    lines = [line for line in md.splitlines() if "skipped" in line]
    assert lines == ["Data: skipped 3 of 33 image files that are not usable images (1 not an image, 2 truncated); "
                     "each is listed with its reason in data/raw/skipped.csv."]


def test_a_variant_trained_at_the_lr_range_tests_suggestion_shows_the_test(tmp_path, monkeypatch, repo_params):
    import dataclasses

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    fake_outputs(tmp_path, {"baseline": 0.91, "small_filters": 0.95})
    metrics = tmp_path / layout.model_dir("baseline") / "metrics.json"
    write_json(metrics, {**__import__("json").loads(metrics.read_text()), "lr": 0.0123, "epochs_trained": 4})
    picture = tmp_path / layout.lr_find_dir("baseline") / "range_test.png"
    picture.parent.mkdir()
    Image.fromarray(np.full((6, 6, 3), 200, dtype=np.uint8)).save(picture)
    build_report(dataclasses.replace(repo_params, active=["baseline", "small_filters"]))
    md = (tmp_path / "reports" / "report.md").read_text()
    html = (tmp_path / "reports" / "report.html").read_text()
    assert "Best epoch 2 of 4 trained" in md and "Learning rate 0.0123." in md
    assert "](../models/baseline/lr_find/range_test.png)" in md
    assert base64.b64encode(picture.read_bytes()).decode() in html
    assert html.count("data:image/png;base64,") == 2 + 4 * 2 + 1  # only baseline ran the test


def test_report_on_incomplete_results_says_what_to_run(tmp_path, monkeypatch, repo_params):
    import dataclasses

    from cnnlab.errors import UserError

    monkeypatch.chdir(tmp_path)
    fake_outputs(tmp_path, {"baseline": 0.9})
    (tmp_path / layout.variant_report_dir("baseline") / "saliency_metrics.json").unlink()
    with pytest.raises(UserError, match="saliency_metrics.json.*dvc repro"):
        build_report(dataclasses.replace(repo_params, active=["baseline"]))


def test_faithfulness_table_adds_the_pointing_game_where_masks_existed():
    from cnnlab.report.build import VariantResult, faithfulness_table

    row = {"deletion_auc": 0.2, "insertion_auc": 0.7, "randomisation_rank_correlation": 0.1,
           "passes_randomisation": True, "reference": False}
    result = VariantResult("cam_cnn", "", {}, {}, {}, {}, {"images": 8, "methods": {
        "gradcam": {**row, "pointing_accuracy": 0.875}, "random": {**row, "reference": True, "pointing_accuracy": 0.25}}},
        {}, [])
    table = faithfulness_table([result])
    assert table.header[-1].startswith("pointing game")
    assert [r[-1] for r in table.rows] == ["0.88", "0.25"]
    without = VariantResult("b", "", {}, {}, {}, {}, {"images": 8, "methods": {"gradcam": row}}, {}, [])
    assert not faithfulness_table([without]).header[-1].startswith("pointing")
