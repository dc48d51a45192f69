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
from cnnlab.report.document import Cell, Details, Gallery, Heading, Table, Text, to_html, to_markdown
from cnnlab.report.document import Image as Img
from tests.conftest import ROOT


def test_markdown_and_html_render_the_same_blocks(tmp_path):
    png = tmp_path / "pic.png"
    Image.fromarray(np.full((4, 4, 3), 128, dtype=np.uint8)).save(png)
    blocks = [Heading("Title", 1), Text("a < b"), Table(["x", "y|z"], [["1", "2"]]), Img(Path("pic.png"), "cap")]
    md = to_markdown(blocks)
    assert md.startswith("# Title\n\na < b\n\n| x | y\\|z |\n|---|---|\n| 1 | 2 |")
    assert "![cap](pic.png)" in md
    html = to_html(blocks, tmp_path, "T")
    assert '<h1 id="title">Title</h1>' in html and "<p>a &lt; b</p>" in html and '<td class="num">2</td>' in html
    assert "<nav" not in html  # no table of contents without sections
    embedded = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert base64.b64decode(embedded) == png.read_bytes()


def test_headings_get_githubs_anchors_and_a_table_of_contents_links_them():
    blocks = [Heading("Report", 1), Heading("Does it hold up?"), Heading("baseline"), Heading("Saliency", 3),
              Heading("baseline"), Table(["variant", "acc", "note"], [["baseline", "0.9806 [0.9603, 0.9921]", "ok 2"]])]
    md = to_markdown(blocks)
    assert ("- [Does it hold up?](#does-it-hold-up)\n- [baseline](#baseline)\n  - [Saliency](#saliency)\n"
            "- [baseline](#baseline-1)") in md
    html = to_html(blocks, Path("."), "T")
    ids = re.findall(r'<h\d id="([^"]+)"', html)
    assert ids == ["report", "does-it-hold-up", "baseline", "saliency", "baseline-1"]
    assert re.findall(r'<a href="#([^"]+)"', html) == ids[1:]
    # numbers (with an interval) right-aligned, names and prose left-aligned
    assert '<td>baseline</td><td class="num">0.9806 [0.9603, 0.9921]</td><td>ok 2</td>' in html


def test_badges_with_notes_galleries_and_folded_details_render_in_both(tmp_path):
    png = tmp_path / "pic.png"
    Image.fromarray(np.full((4, 4, 3), 128, dtype=np.uint8)).save(png)
    table = Table(["claim", "verdict"], [["a beats b", Cell("reproduced", "t: p = 0.01 < c", "good")],
                                         ["c beats d", Cell("inconclusive", "t: p = 0.3", "neutral")],
                                         ["e beats f", Cell("reproduced", "t: p = 0.01 < c", "good")]])
    blocks = [Heading("T", 1), table, Gallery([Img(Path("pic.png"), "one"), Img(Path("pic.png"), "two")]),
              Details("more on v", [Text("inside"), Img(Path("pic.png"), "three")], anchor="variant-v")]
    md = to_markdown(blocks)
    # a shared note is listed once; the badge in bold, its note by number under the table
    assert ("| a beats b | **reproduced** [1] |\n| c beats d | **inconclusive** [2] |\n"
            "| e beats f | **reproduced** [1] |\n\n[1] t: p = 0.01 < c\n\n[2] t: p = 0.3") in md
    assert "![one](pic.png)\n![two](pic.png)" in md
    assert ('<details><summary>more on v</summary><a id="variant-v"></a>\n\ninside\n\n![three](pic.png)\n\n'
            "</details>") in md
    html = to_html(blocks, tmp_path, "T")
    assert '<td><span class="badge good tip" title="t: p = 0.01 &lt; c">reproduced</span></td>' in html
    assert '<details class="notes"><summary>Notes</summary><ol><li>t: p = 0.01 &lt; c</li><li>t: p = 0.3</li>' in html
    gallery = r'<div class="gallery" style="grid-template-columns:repeat\(auto-fill,minmax\(min\(100%,330px\),1fr\)\)">'
    assert re.search(gallery + r'(<figure><img [^>]+><figcaption>(one|two)</figcaption></figure>){2}</div>', html)
    assert re.search(r'<details id="variant-v"><summary>more on v</summary><p>inside</p>\n<figure><img alt="three"',
                     html)


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
    overview = root / layout.DATA_OVERVIEW.dir  # data_overview's outputs (tests/test_data_overview.py runs it)
    overview.mkdir(parents=True)
    write_json(overview / "overview.json", {"classes": 3, "train_images": 20, "val_images": 5, "test_images": 5,
                                            "train_smallest_class": 6, "train_largest_class": 7,
                                            "train_imbalance": 1.1667})
    for picture in (layout.DATA_OVERVIEW.counts_figure, layout.DATA_OVERVIEW.samples):
        Image.fromarray(np.full((5, 5, 3), 90, dtype=np.uint8)).save(root / picture)
    for name, acc in variants.items():
        mdir, rdir = root / layout.trained(name).dir, root / layout.tested(name).dir
        write_json(mdir / "metrics.json", {"val_accuracy": acc - 0.01, "best_epoch": 2, "epochs_trained": 3,
                                           "parameters": 1234,
                                           "val_loss": 0.5})
        write_json(mdir / "timing.json", {"train_seconds": 3.5})
        write_csv(mdir / "history.csv", ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"],
                  [[1, 1.0, 0.5, 1.1, 0.4, 0.001], [2, 0.5, 0.8, 0.6, acc - 0.01, 0.001]])
        write_json(rdir / "metrics.json", {"test_accuracy": acc, "test_loss": 0.4, "test_macro_f1": acc,
                                           "test_size": TEST_IMAGES})
        right = round(acc * TEST_IMAGES)  # the first `right` test images, so the better variant's set holds the other's
        rows = [[i, i % 3, i % 3 if i < right else (i + 1) % 3, 0.9] for i in range(TEST_IMAGES)]
        write_csv(rdir / "predictions.csv", ["index", "actual", "predicted", "confidence"], rows)
        run = root / layout.seed_run(name, 42).dir  # repeat@V-42: the first (and only) seed's run
        write_csv(run / "test" / "predictions.csv", ["index", "actual", "predicted", "confidence"], rows)
        write_json(run / "train" / "timing.json", {"train_seconds": 3.5})
        write_json(run / "train" / "metrics.json", read_json(mdir / "metrics.json"))  # repeat@V-42 copies it
        write_json(rdir / "misclassified.json", {"misclassified": 2, "misclassified_fraction": 0.4})
        write_csv(rdir / "per_class.csv", ["class", "precision", "recall", "f1", "support"],
                  [[c, acc, acc, acc, TEST_IMAGES // 3] for c in ("a", "b", "c")])
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


def test_report_names_every_active_variant_with_its_numbers(tmp_path, monkeypatch, repo_params, capsys):
    import dataclasses

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    fake_outputs(tmp_path, {"baseline": 0.91, "small_filters": 0.95})
    params = dataclasses.replace(repo_params, active=["baseline", "small_filters"])
    build_report(params)
    md = (tmp_path / "reports" / "report.md").read_text()
    html = (tmp_path / "reports" / "report.html").read_text()
    # best first, the best marked (a badge in HTML, its note a tooltip and a list under the table)
    assert ("| small_filters | **best** [1] | 0.9500 [0.9100, 0.9758] | 95.00 (3) | 0.9400 | 0.9500 | 0.4000 | 1,234 | "
            "3.5 | 2 |\n| baseline |  | 0.9100 [0.8615, 0.9458] | 91.00 (3) | 0.9000 | 0.9100 | 0.4000 | 1,234 | 3.5 "
            "| 2 |\n\n[1] best: the best mean test accuracy over seeds") in md
    assert '<span class="badge good tip" title="best: the best mean test accuracy over seeds">best</span>' in html
    assert "Training seeds: 42. 95% intervals of test accuracy: exact binomial over 200 test images, one seed: " \
           "the test set's sampling error alone (add seeds to see how much a new seed moves a variant; a verdict " \
           "needs 2 or more)." in md
    assert "at chance" not in md and "chance" not in capsys.readouterr().out
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    from scipy.stats import binomtest

    exact = binomtest(182, TEST_IMAGES).proportion_ci(0.95, method="exact")
    assert summary["baseline"] == {"test_accuracy_mean": 0.91, "test_accuracy_low": round(exact.low, 6),
                                   "test_accuracy_high": round(exact.high, 6), "seeds": 1}
    assert "under-trained" not in md  # both had their best epoch before the last
    # the ladder's section opens with its question and its verdicts; one seed gives no verdict, only the way it
    # leans; the numbers and the test are in the verdict's note, not in its cell
    ladder = md.split("## The CIFAR-10 ablation ladder\n\n")[1].split("\n## ")[0]
    assert ladder.startswith("Question: Does each rung")
    assert ("| stacked 3x3 filters beat the 5x5 baseline | small_filters 73, baseline 69 (validation accuracy; "
            "small_filters by +4 points) | +4.0 [+1.0, +4.0] points | **too few seeds** [1] | - |") in ladder
    assert ("[1] small_filters 95.0 [91.0, 97.6] vs baseline 91.0 [86.1, 94.6]; difference +4.0 [+1.0, +4.0] points "
            "(exact McNemar interval over 200 test images, one seed: the test set's sampling error alone; exact "
            "McNemar (8 vs 0 images only one got right): p = 0.00781). judged on digits, not cifar10; this seed "
            "leans towards the claim; too few seeds to judge") in ladder
    assert '<span class="badge muted tip" title="small_filters 95.0 [91.0, 97.6] vs baseline' in html
    assert "All claims: 1 too few seeds, 10 not run." in md and "Holm's method" not in md  # none adjusted
    elsewhere = md.split("Claims of experiments not in this run")[1]
    assert ("| ResNet-18 reaches 91% test accuracy within 20 epochs | resnet18 91 (test accuracy) | - | **not run** "
            "[9] | - |") in elsewhere and "[9] resnet18 not in this run (add to active)" in elsewhere
    assert "## Optimizers" not in md and "## ResNet-18" not in md  # a section per family present, no more
    assert "| baseline | gradcam | 0.125 | 0.750 | +0.10 | passes |" in md
    assert "| baseline | occlusion | 0.125 | 0.750 | +0.80 | FAILS: maps ignore the weights |" in md
    assert "| small_filters | sobel | 0.125 | 0.750 | +1.00 | reference (ignores the model) |" in md
    assert "Best: small_filters, mean test accuracy 95.00% over 1 seed(s)." in md
    assert "20 train, 5 val, 5 test" in md
    assert "Data: skipped" not in md  # nothing was skipped
    # pictures that compare: both confusion matrices side by side, both saliency figures side by side
    figure = r'[^>]*><figcaption>[^<]*</figcaption></figure>'
    assert re.search(r'<div class="gallery"[^>]*><figure><img alt="baseline: confusion matrix"' + figure
                     + r'<figure><img alt="small_filters: confusion matrix"', html)
    assert re.search(r'<div class="gallery"[^>]*><figure><img alt="baseline: saliency methods"' + figure
                     + r'<figure><img alt="small_filters: saliency methods"', html)
    for name in ("baseline", "small_filters"):
        assert f"variants/{name}/saliency/methods.png" in md
        assert re.search(rf'<details id="variant-{name}"><summary>{name}: [^<]*</summary>.*?'
                         rf'alt="{name}: misclassified test images', html, re.S)
    assert "dropout_all:" not in md and "| dropout_all |" not in md  # only what is active
    # self-contained: every image inline, nothing fetched from elsewhere: accuracy, curves, two of the data,
    # the family's accuracy against time, and four a variant
    assert html.count("data:image/png;base64,") == 5 + 4 * 2
    assert not re.search(r'src="(?!data:)', html)
    Image.open(tmp_path / "reports" / "curves.png").verify()


def test_a_variant_whose_best_epoch_was_its_last_is_flagged(tmp_path, monkeypatch, repo_params):
    import dataclasses

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    fake_outputs(tmp_path, {"baseline": 0.91, "small_filters": 0.95})
    for metrics in (layout.trained("small_filters").dir / "metrics.json",
                    layout.seed_run("small_filters", 42).dir / "train" / "metrics.json"):
        write_json(tmp_path / metrics, {**read_json(tmp_path / metrics), "epochs_trained": 2})  # best epoch 2 of 2
    build_report(dataclasses.replace(repo_params, active=["baseline", "small_filters"]))
    md = (tmp_path / "reports" / "report.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| small_filters |"))
    assert row.startswith("| small_filters | **best, under-trained?** [1] |")
    assert "[1] best: the best mean test accuracy over seeds; under-trained?: in some seed the best validation " \
           "epoch was the last" in md
    assert next(line for line in md.splitlines() if line.startswith("| baseline |")).startswith("| baseline |  |")
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
            shutil.copytree(tmp_path / layout.seed_run(name, 42).dir, tmp_path / layout.seed_run(name, seed).dir)
    # the first seed finished; seed 3 of small_filters had its best epoch last
    late = tmp_path / layout.seed_run("small_filters", 3).dir / "train" / "metrics.json"
    write_json(late, {**read_json(late), "epochs_trained": 2})
    build_report(dataclasses.replace(repo_params, active=["baseline", "small_filters"], seeds=[42, 7, 3]))
    md = (tmp_path / "reports" / "report.md").read_text()
    assert next(line for line in md.splitlines() if line.startswith("| small_filters |")).startswith(
        "| small_filters | **best, under-trained?** [1] |")
    assert next(line for line in md.splitlines() if line.startswith("| baseline |")).startswith("| baseline |  |")
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
    metrics = tmp_path / layout.trained("baseline").dir / "metrics.json"
    write_json(metrics, {**__import__("json").loads(metrics.read_text()), "lr": 0.0123, "epochs_trained": 4})
    picture = tmp_path / layout.lr_find("baseline").dir / "range_test.png"
    picture.parent.mkdir()
    Image.fromarray(np.full((6, 6, 3), 200, dtype=np.uint8)).save(picture)
    build_report(dataclasses.replace(repo_params, active=["baseline", "small_filters"]))
    md = (tmp_path / "reports" / "report.md").read_text()
    html = (tmp_path / "reports" / "report.html").read_text()
    assert "Best epoch 2 of 4 trained" in md and "Learning rate 0.0123." in md
    assert "](../models/baseline/lr_find/range_test.png)" in md
    assert base64.b64encode(picture.read_bytes()).decode() in html
    assert html.count("data:image/png;base64,") == 5 + 4 * 2 + 1  # only baseline ran the test


def test_report_on_incomplete_results_says_what_to_run(tmp_path, monkeypatch, repo_params):
    import dataclasses

    from cnnlab.errors import UserError

    monkeypatch.chdir(tmp_path)
    fake_outputs(tmp_path, {"baseline": 0.9})
    (tmp_path / layout.tested("baseline").dir / "saliency_metrics.json").unlink()
    with pytest.raises(UserError, match="saliency_metrics.json.*dvc repro"):
        build_report(dataclasses.replace(repo_params, active=["baseline"]))


def test_faithfulness_table_adds_the_pointing_game_where_masks_existed():
    from cnnlab.report.build import VariantResult, faithfulness_table

    row = {"deletion_auc": 0.2, "insertion_auc": 0.7, "randomisation_rank_correlation": 0.1,
           "passes_randomisation": True, "reference": False}
    result = VariantResult("cam_cnn", "", {}, {}, {}, {}, {"images": 8, "methods": {
        "gradcam": {**row, "pointing_accuracy": 0.875},
        "random": {**row, "reference": True, "pointing_accuracy": 0.25}}},
        {}, [])
    table = faithfulness_table([result])
    assert table.header[-1].startswith("pointing game")
    assert [r[-1] for r in table.rows] == ["0.88", "0.25"]
    without = VariantResult("b", "", {}, {}, {}, {}, {"images": 8, "methods": {"gradcam": row}}, {}, [])
    assert not faithfulness_table([without]).header[-1].startswith("pointing")


# The README's CIFAR-10 ladder: epochs trained by seeds 42, 43 and 44 (each stopped four after its best).
LADDER_EPOCHS = {"baseline": (19, 18, 14), "small_filters": (16, 17, 11), "dropout_last": (22, 29, 24),
                 "dropout_all": (23, 22, 26), "augmented": (28, 31, 19)}


def test_the_report_on_the_cifar10_ladder_judges_direction_and_size_and_shows_every_seed(tmp_path, monkeypatch,
                                                                                         repo_params, capsys):
    """The README's three seeds as per-image predictions made to match them."""
    import dataclasses

    from tests.simulated import IMAGES, SEEDS, ladder_predictions

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    predictions = ladder_predictions()
    fake_outputs(tmp_path, {name: float(right[0].mean()) for name, right in predictions.items()})
    for name, right in predictions.items():
        metrics = tmp_path / layout.tested(name).dir / "metrics.json"
        write_json(metrics, {**read_json(metrics), "test_size": IMAGES})
        for seed, row, epochs in zip(SEEDS, right, LADDER_EPOCHS[name], strict=True):
            run = tmp_path / layout.seed_run(name, seed).dir
            write_csv(run / "test" / "predictions.csv", ["index", "actual", "predicted", "confidence"],
                      [[i, i % 10, i % 10 if ok else (i + 1) % 10, 0.9] for i, ok in enumerate(row)])
            write_json(run / "train" / "timing.json", {"train_seconds": 300.0})
            write_json(run / "train" / "metrics.json", {"val_accuracy": float(row.mean()) + 0.004, "parameters": 1234,
                                                        "best_epoch": epochs - 4, "epochs_trained": epochs})
    cifar = dataclasses.replace(repo_params.data, dataset="cifar10")
    build_report(dataclasses.replace(repo_params, active=list(predictions), seeds=SEEDS, data=cifar))
    md = (tmp_path / "reports" / "report.md").read_text()
    # every seed visible, with its epochs; augmented's seed 44 (73.4 against 78.7 and 77.9) flagged
    assert "| 0.7667 [0.6943, 0.8390] | 78.70 (28), 77.90 (31), 73.40 (19) OUTLIER |" in md
    assert ("Seeds far from their siblings (more than 3 median absolute deviations from the variant's median test "
            "accuracy, or stopped early on a val plateau that far below; one such run can make a wide interval): "
            "augmented seed 44: test 73.4% against a median of 77.9%.") in md
    assert "augmented seed 44" in capsys.readouterr().out
    assert f"t over 3 seeds and {IMAGES:,} test images (seed-to-seed spread and the test set's sampling error)" in md
    section = md.split("## The CIFAR-10 ablation ladder")[1].split("\n## ")[0]
    assert "The 8 tests behind these verdicts are one family, adjusted by Holm's method" in md
    notes = dict(re.findall(r"^\[(\d+)\] (.*)$", section, re.M))
    rows = {line.split(" | ")[0][2:]: line.split(" | ") for line in section.splitlines() if line.startswith("| ")}
    for claim, size in (("stacked 3x3 filters beat the 5x5 baseline", "+4"),
                        ("dropout after the last conv block beats no dropout", "+1"),
                        ("dropout after every conv layer beats dropout after the last block only", "+2"),
                        ("data augmentation adds 3 points to the dropout_all model", "+3")):
        row = rows[claim]
        assert re.fullmatch(r"[-+][\d.]+ \[[-+][\d.]+, [-+][\d.]+\] points", row[2]), row[2]  # the difference only
        verdict, number = re.fullmatch(r"\*\*(\w+)\*\* \[(\d+)\]", row[3]).groups()
        note = notes[number]  # the method, the counts and p, raw and adjusted, beside the table
        assert verdict in ("reproduced", "contradicted", "inconclusive")
        assert re.search(r"p [\d.e-]+ \(Holm [\d.e-]+\); size: [\d.e-]+ \(Holm [\d.e-]+\)", note), note
        assert re.fullmatch(rf"(credibly below|consistent with|credibly above) \{size}", row[4].rstrip(" |")), row[4]
        if verdict == "inconclusive":
            assert re.search(r"about \d+ seeds in all would settle it \(80% power at the 0.013 level Holm asks of "
                             r"the first of 4 claims\) at the spread measured; \d+ to [\d,]+( or more)? over that "
                             r"spread's 95% interval", note), note
    assert rows["stacked 3x3 filters beat the 5x5 baseline"][3].startswith("**reproduced**")
    dropout_all = rows["dropout after every conv layer beats dropout after the last block only"][3]
    assert "P(dropout_all beats dropout_last on a new seed): 0.14" in notes[re.search(r"\[(\d+)\]", dropout_all)[1]]
    Image.open(tmp_path / "reports" / "accuracy.png").verify()


def test_a_variant_at_chance_is_flagged_and_its_maps_are_not_read(tmp_path, monkeypatch, repo_params, capsys):
    """shapes with the default ladder: baseline at 27.8% on 4 classes has learnt nothing the
    test set can tell from guessing."""
    import dataclasses

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    fake_outputs(tmp_path, {"baseline": 0.28, "small_filters": 0.95})
    meta = tmp_path / layout.RAW / "meta.json"
    write_json(meta, {**read_json(meta), "classes": ["circle", "square", "triangle", "cross"]})
    for name, acc in (("baseline", 0.278), ("small_filters", 0.95)):
        right = round(acc * 400)
        write_csv(tmp_path / layout.seed_run(name, 42).dir / "test" / "predictions.csv",
                  ["index", "actual", "predicted", "confidence"],
                  [[i, i % 4, i % 4 if i < right else (i + 1) % 4, 0.9] for i in range(400)])
        metrics = tmp_path / layout.tested(name).dir / "saliency_metrics.json"
        saliency = read_json(metrics)
        for m in saliency["methods"].values():
            m["pointing_accuracy"] = 0.5
        write_json(metrics, saliency)
    build_report(dataclasses.replace(repo_params, active=["baseline", "small_filters"]))
    md = (tmp_path / "reports" / "report.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| baseline |"))
    assert row.startswith("| baseline | **at chance** [2] |")  # [1] is small_filters' "best"
    assert "[2] at chance: its 95% interval reaches down to chance (25.0%)" in md
    line = ("Not credibly above chance (the 95% interval of test accuracy reaches down to 25.0%, what a model that "
            "learnt nothing scores: guessing, or always the largest class): baseline.")
    assert line in md and line in capsys.readouterr().out
    assert "| baseline | gradcam | 0.125 | 0.750 | +0.10 | model at chance: its maps explain nothing |  |" in md
    assert "| small_filters | gradcam | 0.125 | 0.750 | +0.10 | passes | 0.50 |" in md
    assert "| baseline | sobel | 0.125 | 0.750 | +1.00 | reference (ignores the model) | 0.50 |" in md


def test_a_seed_that_stopped_early_on_a_low_plateau_is_flagged(repo_params):
    """Its test accuracy is in line with its siblings', yet early stopping ended it at a val
    accuracy far below theirs; a seed that ran to the epoch cap at the same val is not flagged."""
    from cnnlab.report.build import VariantResult, far_seeds

    cap = repo_params.variant("augmented").train.epochs
    params = __import__("dataclasses").replace(repo_params, seeds=[42, 43, 44])
    runs = [{"val_accuracy": v, "epochs_trained": e} for v, e in ((0.786, cap), (0.783, cap), (0.738, cap - 5))]
    result = VariantResult("augmented", "", {}, {}, {"test_size": 10_000}, {}, {}, {}, runs)
    found = far_seeds(params, result, (0.770, 0.772, 0.768), 7500)
    assert found == {2: "seed 44: stopped at epoch 7 on a val plateau of 73.8%, its siblings' best 78.6%"}
    runs[2]["epochs_trained"] = cap  # ran to the cap: a slow seed, not one cut short
    assert far_seeds(params, result, (0.770, 0.772, 0.768), 7500) == {}


def test_variants_of_no_family_get_a_section_of_their_own(tmp_path, monkeypatch, repo_params):
    import dataclasses

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    fake_outputs(tmp_path, {"baseline": 0.91, "mine": 0.93})
    variants = {**repo_params.variants, "mine": {"description": "my own idea", "epochs": 3}}
    build_report(dataclasses.replace(repo_params, variants=variants, active=["baseline", "mine"]))
    md = (tmp_path / "reports" / "report.md").read_text()
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings.index("## The CIFAR-10 ablation ladder") < headings.index("## Other variants")
    ladder = md.split("## The CIFAR-10 ablation ladder")[1].split("\n## ")[0]
    other = md.split("## Other variants")[1].split("\n## ")[0]
    assert "baseline: confusion matrix" in ladder and "mine" not in ladder
    assert "mine: confusion matrix" in other and "baseline" not in other and "Question:" not in other
    assert "families/other_time_accuracy.png" not in md  # one variant: nothing to plot against another
