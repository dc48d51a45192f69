"""The real pipeline, end to end: `dvc repro` in a fresh copy of this repository.

Short epochs keep it to a few minutes; everything else is what a user runs. The
tests run in file order and share one copy: later ones (forced re-run, experiment)
build on the state the earlier ones checked.
"""

from __future__ import annotations

import csv
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from cnnlab.io import read_json
from tests.fresh_repo import copy_repository, env, sh

pytestmark = pytest.mark.slow(seconds=400)

LADDER = ["baseline", "small_filters", "dropout_last", "dropout_all", "augmented"]
# Two of the five default variants cover what DVC does with them (two model shapes, lr
# auto in the experiment, a claim of claims.yaml judged) at 2/5 of the time; every ladder
# variant, augmentation included, runs through every stage in
# tests/test_readme_experiments.py (the CIFAR-10 line, three seeds), and `make pipeline`
# runs all five on a fresh clone.
VARIANTS = ["baseline", "small_filters"]
EPOCHS = 2
# what data.image_size: auto makes of the 8x8 digits
IMAGE_SIZE = 16


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("cnnlab") / "repo"
    repo.mkdir()
    copy_repository(repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params["active"] == LADDER
    params["active"] = VARIANTS
    params["train"]["epochs"] = EPOCHS
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (repo / "dvc.lock").unlink(missing_ok=True)
    sh(repo, "git", "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "fresh clone")
    started = time.perf_counter()
    log = sh(repo, "dvc", "repro")
    print(f"\ndvc repro with {EPOCHS} epochs: {time.perf_counter() - started:.0f} s")
    for v in VARIANTS:
        assert f"Running stage 'train@{v}'" in log
    # what a user does next: commit the lock file so experiments have a baseline
    sh(repo, "git", "add", "dvc.lock")
    sh(repo, "git", "commit", "-qm", "pipeline run")
    return repo


def accuracies_in(repo: Path) -> dict[str, float]:
    return {v: read_json(repo / f"reports/variants/{v}/metrics.json")["test_accuracy"] for v in VARIANTS}


def test_every_variant_beats_chance_on_the_test_set(repo):
    classes = read_json(repo / "data/raw/meta.json")["classes"]
    for v in VARIANTS:
        test = read_json(repo / f"reports/variants/{v}/metrics.json")
        train = read_json(repo / f"models/{v}/metrics.json")
        assert test["test_accuracy"] > 3 / len(classes), (v, test)
        assert 1 <= train["best_epoch"] <= EPOCHS and train["parameters"] > 0


def test_confusion_counts_sum_to_the_test_size(repo):
    split = read_json(repo / "data/split.json")
    for v in VARIANTS:
        with (repo / f"reports/variants/{v}/predictions.csv").open() as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == len(split["test"]) == read_json(repo / f"reports/variants/{v}/metrics.json")["test_size"]
        assert sorted(int(r["index"]) for r in rows) == sorted(split["test"])
        with (repo / f"reports/variants/{v}/per_class.csv").open() as f:
            assert sum(int(r["support"]) for r in csv.DictReader(f)) == len(split["test"])
        wrong = sum(r["actual"] != r["predicted"] for r in rows)
        assert read_json(repo / f"reports/variants/{v}/misclassified.json")["misclassified"] == wrong


def test_pictures_decode_and_are_not_blank(repo):
    pictures = [repo / "reports/curves.png", repo / "reports/accuracy.png", repo / "reports/data/class_counts.png",
                repo / "reports/data/samples.png", repo / "reports/families/ladder_time_accuracy.png"] + [
        repo / f"reports/variants/{v}/{name}.png" for v in VARIANTS
        for name in ("confusion", "misclassified", "saliency/methods", "saliency/targets",
                     "saliency/sample_occlusion")]
    pictures += [repo / f"reports/variants/{v}/saliency/mistakes.png" for v in VARIANTS
                 if read_json(repo / f"reports/variants/{v}/misclassified.json")["misclassified"]]
    for path in pictures:
        with Image.open(path) as img:
            pixels = np.asarray(img.convert("RGB"))
        assert min(pixels.shape[:2]) >= 150 and pixels.std() > 10, path


def test_saliency_maps_carry_signal_for_every_sampled_class(repo):
    for v in VARIANTS:
        with np.load(repo / f"reports/variants/{v}/saliency/maps.npz") as saved:
            assert sorted(saved["targets"]) == list(range(10))  # one seeded image per class
            for method in ("occlusion", "gradcam", "random", "sobel"):
                maps = saved[method]
                assert maps.shape == (10, IMAGE_SIZE, IMAGE_SIZE)
                assert np.isfinite(maps).all() and np.abs(maps).max() > 1e-3, (v, method)


def test_every_method_is_scored_and_the_reference_maps_fail_the_sanity_check(repo):
    for v in VARIANTS:
        scores = read_json(repo / f"reports/variants/{v}/saliency_metrics.json")
        assert scores["images"] == 10
        methods = scores["methods"]
        assert set(methods) == {"occlusion", "gradcam", "random", "sobel"}
        for name, row in methods.items():
            assert 0.0 <= row["deletion_auc"] <= 1.0 and 0.0 <= row["insertion_auc"] <= 1.0
            assert row["reference"] == (name in ("random", "sobel"))
        # Maps that never look at the weights are the same for a randomised model.
        assert methods["random"]["randomisation_rank_correlation"] == 1.0
        assert not methods["sobel"]["passes_randomisation"]


def test_report_names_every_variant_and_embeds_its_pictures(repo):
    md = (repo / "reports/report.md").read_text()
    html = (repo / "reports/report.html").read_text()
    for v in VARIANTS:
        assert f"| {v} |" in md and f'<details id="variant-{v}">' in html
    mistakes = sum((repo / f"reports/variants/{v}/saliency/mistakes.png").exists() for v in VARIANTS)
    assert html.count("data:image/png;base64,") == 5 + 4 * len(VARIANTS) + mistakes
    assert "| baseline | occlusion |" in md and "reference (ignores the model)" in md
    # where it came from: the commit the pipeline ran at (the lock file was committed after), nothing changed
    ran_at = sh(repo, "git", "rev-parse", "--short", "HEAD~1").strip()
    assert (f"Provenance: git commit {ran_at} (no uncommitted code changes); dvc repro (not an experiment). "
            "Params changed from the commit's params.yaml: none.") in md
    # every original claim, with a verdict on this run or "not run"; the ladder's in its own section
    from cnnlab.compare.claims import load_claims

    for claim in load_claims(repo / "claims.yaml"):
        row = next(line for line in md.splitlines() if line.startswith(f"| {claim.claim} |"))
        assert re.search(r"\| \*\*(too few seeds|not run)\*\* \[\d+\] \|", row), row  # one seed judges nothing
    ladder = md.split("## The CIFAR-10 ablation ladder")[1].split("\n## ")[0]
    assert "| stacked 3x3 filters beat the 5x5 baseline |" in ladder and "judged on digits, not cifar10" in ladder


def test_the_report_renders_in_a_real_browser_on_a_laptop_and_a_phone(repo, tmp_path):
    """reports/report.html in headless Chromium: no console errors, every picture decodes,
    the contents' links land on their sections, no sideways page scroll at 1280 or 400 px,
    and the page is not blank (the screenshots stay in tmp_path)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import FLAGS, chromium

    executable = chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
        try:
            for width in (1280, 400):
                page = browser.new_page(viewport={"width": width, "height": 900})
                errors: list[str] = []
                page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.goto((repo / "reports" / "report.html").as_uri(), wait_until="load")
                assert errors == [], errors
                images = page.eval_on_selector_all(
                    "img", "all => all.map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt])")
                assert len(images) >= 2 + 4 * len(VARIANTS)
                assert all(done and w > 0 and h > 0 for done, w, h, _ in images), images
                overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
                targets = page.eval_on_selector_all('nav a[href^="#"]', "all => all.map(a => a.hash.slice(1))")
                assert {"summary", "data", "the-cifar-10-ablation-ladder"} <= set(targets)
                assert page.evaluate("ids => ids.filter(id => !document.getElementById(id))", targets) == []
                page.click('nav a[href="#the-cifar-10-ablation-ladder"]')
                top = page.evaluate("document.getElementById('the-cifar-10-ablation-ladder').getBoundingClientRect()"
                                    ".top")
                assert abs(top) < 5 and page.evaluate("window.scrollY") > 0  # the link scrolled to its section
                # a variant's detail opens when clicked, and its pictures then have a size on the page
                page.click(f"#variant-{VARIANTS[-1]} > summary")
                shown = page.eval_on_selector_all(f"#variant-{VARIANTS[-1]} img", "all => all.map(i => i.width)")
                assert shown and min(shown) > 100, shown
                # the confusion matrices side by side at 1280 px, one below the other at 400 px
                tops = page.eval_on_selector_all('img[alt$="confusion matrix"]',
                                                 "all => all.map(i => i.getBoundingClientRect().top)")
                assert len(tops) == len(VARIANTS) and (len(set(tops)) == 1) == (width == 1280), tops
                page.evaluate("window.scrollTo(0, 0)")
                shot = tmp_path / f"report-{width}px.png"
                page.screenshot(path=str(shot))
                pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
                assert pixels.shape[1] == width and pixels.std() > 20, pixels.std()  # text and pictures, not blank
                page.close()
        finally:
            browser.close()


def test_mlflow_holds_one_run_per_variant_with_its_metrics(repo):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cnnlab")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.tags["variant"] for r in runs) == sorted(VARIANTS)
    for run in runs:
        v = run.data.tags["variant"]
        test = read_json(repo / f"reports/variants/{v}/metrics.json")
        assert run.data.metrics["test_accuracy"] == pytest.approx(test["test_accuracy"])
        with (repo / f"reports/variants/{v}/per_class.csv").open() as f:
            per_class = list(csv.DictReader(f))
        for row in per_class:
            assert run.data.metrics[f"test_recall/{row['class']}"] == pytest.approx(float(row["recall"]))
        assert run.data.params["train.optimizer"] == "adam"
        assert len(client.get_metric_history(run.info.run_id, "val_accuracy")) == EPOCHS
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        artifacts |= {a.path for a in client.list_artifacts(run.info.run_id, "results")}
        assert {"history.csv", "curves.png", "results/methods.png", "results/misclassified.png",
                "results/confusion.png", "results/per_class.csv"} <= artifacts
        (model,) = client.search_logged_models([experiment.experiment_id],
                                               filter_string=f"source_run_id = '{run.info.run_id}'")
        assert model.name == "model"  # the pyfunc model, loaded and predicting in the server test below


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_mlflow_ui_server_opens_the_store(repo):
    port = free_port()
    server = subprocess.Popen(["mlflow", "server", "--backend-store-uri", "sqlite:///mlflow.db",
                               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              cwd=repo, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/search", method="POST",
            data=json.dumps({"experiment_ids": ["1"], "max_results": 50}).encode(),
            headers={"Content-Type": "application/json"})
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    runs = json.load(response)["runs"]
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(1)
        names = sorted(r["info"]["run_name"] for r in runs)
        assert names == sorted(VARIANTS)
        base = f"http://127.0.0.1:{port}"
        for run in runs:  # what the REST API says of each run: params, per-epoch and test metrics
            params = {p["key"]: p["value"] for p in run["data"]["params"]}
            metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
            v = run["info"]["run_name"]
            assert params["train.optimizer"] == "adam" and params["variant"] == v
            test = read_json(repo / f"reports/variants/{v}/metrics.json")
            assert metrics["test_accuracy"] == pytest.approx(test["test_accuracy"])
            with urllib.request.urlopen(f"{base}/api/2.0/mlflow/metrics/get-history?run_id="
                                        f"{run['info']['run_id']}&metric_key=val_accuracy", timeout=10) as response:
                history = json.load(response)["metrics"]
            assert sorted(m["step"] for m in history) == list(range(1, EPOCHS + 1))
        loaded_back_through(base, repo)
    finally:
        server.terminate()
        server.wait(timeout=30)


def loaded_back_through(server: str, repo: Path) -> None:
    """The registered best model, loaded by its registry name through the server, predicts
    what evaluate@V predicted, from uint8 images as data/raw holds them."""
    code = f"""
import csv, json, sys
import mlflow, numpy as np
mlflow.set_tracking_uri("{server}")
version = max(mlflow.MlflowClient().search_model_versions("name='cnnlab'"), key=lambda v: int(v.version))
model = mlflow.pyfunc.load_model(f"models:/cnnlab/{{version.version}}")
run = mlflow.get_run(version.run_id)
rows = list(csv.DictReader(open(f"reports/variants/{{run.data.tags['variant']}}/predictions.csv")))[:64]
images = np.load("data/raw/images.npy", mmap_mode="r")[[int(r["index"]) for r in rows]]
probabilities = model.predict(np.ascontiguousarray(images))
classes = json.load(open("data/raw/meta.json"))["classes"]
print(json.dumps({{"variant": run.data.tags["variant"], "shape": list(probabilities.shape),
                  "sums": probabilities.sum(1).tolist(),
                  "agree": [classes[int(p)] == r["predicted"] for p, r in zip(probabilities.argmax(1), rows)]}}))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    best = max(VARIANTS, key=lambda v: read_json(repo / f"reports/variants/{v}/metrics.json")["test_accuracy"])
    assert result["variant"] == best
    assert result["shape"] == [64, len(read_json(repo / "data/raw/meta.json")["classes"])]
    assert result["sums"] == pytest.approx([1.0] * 64, abs=1e-5)
    assert all(result["agree"])


def test_dvc_metrics_show_lists_every_variant(repo):
    shown = json.loads(sh(repo, "dvc", "metrics", "show", "--json"))
    metrics = next(iter(shown.values()))["data"]
    for v in VARIANTS:
        assert "val_accuracy" in metrics[f"models/{v}/metrics.json"]["data"]
        assert "test_accuracy" in metrics[f"reports/variants/{v}/metrics.json"]["data"]


def test_dvc_plots_show_draws_every_variant_on_one_chart_and_the_data(repo):
    shown = json.loads(sh(repo, "dvc", "plots", "show", "--json"))["data"]
    for chart in ("validation accuracy, every variant", "validation loss, every variant"):
        (plot,) = shown[chart]
        values = plot["content"]["data"]["values"]
        assert sorted({row["variant"] for row in values}) == sorted(VARIANTS)
        assert len(values) == EPOCHS * len(VARIANTS)
    for v in VARIANTS:  # the confusion template on each variant's predictions
        (plot,) = shown[f"reports/variants/{v}/predictions.csv"]
        assert plot["content"]["data"]["values"] and "confusion" in plot["content"]["title"]["text"]
    (counts,) = shown["reports/data/class_counts.csv"]
    classes = read_json(repo / "data/raw/meta.json")["classes"]
    assert sorted(row["class"] for row in counts["content"]["data"]["values"]) == sorted(classes)
    assert any(key.endswith("samples.png") for key in shown)
    out = repo.parent / "plots"
    sh(repo, "dvc", "plots", "show", "-o", str(out))
    page = (out / "index.html").read_text()
    assert all(v in page for v in VARIANTS)


def test_repro_right_after_a_run_has_nothing_to_do(repo):
    assert json.loads(sh(repo, "dvc", "status", "--json")) == {}
    assert "Data and pipelines are up to date" in sh(repo, "dvc", "repro")


def test_an_edit_re_runs_only_the_stages_that_run_the_edited_file(repo):
    build = repo / "src/cnnlab/report/build.py"
    build.write_text(build.read_text() + "\n# an edit of code that only the report runs\n")
    # DVC sees the source folder change; each stage then sees whether its own fingerprint did
    assert set(json.loads(sh(repo, "dvc", "status", "--json"))) == {"fingerprints"}
    log = sh(repo, "dvc", "repro")
    assert sorted(re.findall(r"Running stage '([\w@-]+)'", log)) == ["fingerprints", "report"], log
    assert json.loads(sh(repo, "dvc", "status", "--json")) == {}
    sh(repo, "git", "commit", "-qam", "an edit of the report's code")


def test_a_forced_rerun_gives_byte_identical_results(repo):
    files = ["data/split.json", "data/stats.json", "models/baseline/metrics.json", "models/baseline/history.csv",
             "models/baseline/model.pt", "reports/variants/baseline/metrics.json",
             "reports/variants/baseline/predictions.csv"]
    before = {f: (repo / f).read_bytes() for f in files}
    log = sh(repo, "dvc", "repro", "--force", "evaluate@baseline")
    assert "Running stage 'train@baseline'" in log and "Running stage 'download'" in log
    changed = [f for f in files if (repo / f).read_bytes() != before[f]]
    assert changed == []


def test_an_sgd_experiment_retrains_every_variant_and_is_compared(repo):
    adam_acc = accuracies_in(repo)
    # ... and baseline takes its learning rate from the LR range test (lr_find@baseline)
    log = sh(repo, "dvc", "exp", "run", "-n", "sgd", "-S", "train.optimizer=sgd", "-S", "train.lr=0.02",
             "-S", "+variants.baseline.lr=auto")
    for v in VARIANTS:
        assert f"Running stage 'train@{v}'" in log
    assert "Running stage 'download'" not in log  # data stages are untouched by train params
    found = read_json(repo / "models/baseline/lr_find/lr.json")
    assert found["source"] == "lr_find" and found["lr"] != 0.02
    assert (repo / "models/baseline/lr_find/range_test.png").exists()
    assert read_json(repo / "models/baseline/metrics.json")["lr"] == found["lr"]
    assert {read_json(repo / f"models/{v}/metrics.json")["lr"] for v in VARIANTS[1:]} == {0.02}
    md = (repo / "reports/report.md").read_text()
    assert "LR range test" in md
    assert re.search(r"Provenance: git commit \w+ \(no uncommitted code changes\); DVC experiment sgd\. Params changed "
                     r"from the commit's params.yaml: train.lr: 0.001 → 0.02; train.optimizer: adam → sgd; "
                     r"variants.baseline.lr: \(absent\) → auto\.", md), md[:2000]
    rows = json.loads(sh(repo, "dvc", "exp", "show", "--json"))
    experiments = [e for row in rows for exp in (row.get("experiments") or []) for e in exp["revs"]]
    sgd = next(e for e in experiments if e["name"] == "sgd")
    params = sgd["data"]["params"]["params.yaml"]["data"]
    assert params["train"]["optimizer"] == "sgd"
    metrics = sgd["data"]["metrics"]
    sgd_acc = {v: metrics[f"reports/variants/{v}/metrics.json"]["data"]["test_accuracy"] for v in VARIANTS}
    assert all(0.0 <= a <= 1.0 for a in sgd_acc.values())
    # the workspace now holds the experiment's results
    assert sgd_acc == accuracies_in(repo)
    assert sgd_acc != adam_acc
    diff = json.loads(sh(repo, "dvc", "metrics", "diff", "--json"))
    for v in VARIANTS:
        entry = diff[f"reports/variants/{v}/metrics.json"]["test_accuracy"]
        assert entry["old"] == pytest.approx(adam_acc[v]) and entry["new"] == pytest.approx(sgd_acc[v])
    # dvc plots diff: the committed run and the experiment on one chart, told apart by revision
    shown = json.loads(sh(repo, "dvc", "plots", "diff", "--json"))["data"]
    (chart,) = shown["validation accuracy, every variant"]
    assert {(row["rev"], row["variant"]) for row in chart["content"]["data"]["values"]} == {
        (rev, v) for rev in ("HEAD", "workspace") for v in VARIANTS}
    # dvc exp show --only-changed: the params the experiment changed are columns, the others are not
    header = sh(repo, "dvc", "exp", "show", "--only-changed", "--csv").splitlines()[0].split(",")
    assert {"train.optimizer", "train.lr"} <= set(header) and "data.image_size" not in header, header
    # cnnlab compare: the experiment's baseline (in the workspace) against the committed one
    compared = sh(repo, "cnnlab", "compare", "baseline", "baseline@HEAD").splitlines()
    assert compared[0].startswith("baseline ") and compared[1].startswith("baseline@HEAD ")
    assert compared[-1].startswith("verdict on 'baseline beats baseline@HEAD': ")
    # the experiment's runs are in MLflow too, tagged with its name
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    tagged = client.search_runs(["1"], filter_string="tags.dvc_experiment = 'sgd'")
    assert sorted(r.data.tags["variant"] for r in tagged) == sorted(VARIANTS)
    assert {r.data.params["train.optimizer"] for r in tagged} == {"sgd"}


def test_adding_a_seed_trains_only_its_runs_and_the_intervals_go_over_seeds(repo):
    two = ["baseline", "small_filters"]
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params.update(active=two, seeds=[42, 7])
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    log = sh(repo, "dvc", "repro")
    # The first seed's runs are train@V's (and repeat@V-42 copied them): only seed 7 trains.
    assert sorted(re.findall(r"Running stage '((?:train|repeat)@[\w-]+)'", log)) == [
        "repeat@baseline-7", "repeat@small_filters-7"]
    assert sorted(p.name for p in (repo / "runs" / "baseline").iterdir()) == ["42", "7"]
    weights = [repo / f"models/{v}/model.pt" for v in two] + [repo / f"runs/{v}/7/train/model.pt" for v in two]
    before = {w: (w.stat().st_mtime_ns, w.read_bytes()) for w in weights}

    params["seeds"] = [42, 7, 3]
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    log = sh(repo, "dvc", "repro")
    assert sorted(re.findall(r"Running stage '((?:train|repeat)@[\w-]+)'", log)) == [
        "repeat@baseline-3", "repeat@small_filters-3"]
    assert {w: (w.stat().st_mtime_ns, w.read_bytes()) for w in weights} == before  # untouched

    md = (repo / "reports/report.md").read_text()
    assert re.search(r"Training seeds: 42, 7, 3\. 95% intervals of test accuracy: t over 3 seeds and [\d,]+ test "
                     r"images \(seed-to-seed spread and the test set's sampling error\)\.", md)
    summary = read_json(repo / "reports/summary.json")
    assert summary["baseline"]["seeds"] == 3 and summary["baseline"]["test_accuracy_std"] >= 0
    shown = json.loads(sh(repo, "dvc", "metrics", "show", "--json"))
    assert "test_accuracy_mean" in next(iter(shown.values()))["data"]["reports/summary.json"]["data"]["baseline"]
    compared = sh(repo, "cnnlab", "compare", "small_filters", "baseline").splitlines()
    assert "(95% intervals: t over 3 seeds and " in compared[1]
    assert re.fullmatch(r"P\(small_filters beats baseline on a new seed\): [01]\.\d\d", compared[4])

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    for v in two:
        runs = client.search_runs(["1"], filter_string=f"tags.variant = '{v}' and tags.seed = '3'")
        assert [r.info.run_name for r in runs] == [f"{v} seed 3"]
