"""Where each stage's outputs live (the paths dvc.yaml declares), each named once.

The stage that writes a file and every stage, report and command that reads it use
the same attribute here, so a file cannot be renamed in one place and not another.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cnnlab.errors import UserError

RAW = Path("data/raw")  # the canonical dataset (its files are named in data/canonical.py)
# The download stage's metrics: images kept, classes, files skipped.
DOWNLOAD_METRICS = Path("data/download.json")
SPLIT = Path("data/split.json")
STATS = Path("data/stats.json")
MODELS = Path("models")
REPORTS = Path("reports")
# One folder per (variant, training seed): what the statistics over seeds read.
RUNS = Path("runs")
# Resume states of interrupted trainings: outside every DVC output, git-ignored.
RESUME = Path(".cnnlab/resume")


def file(name: str, doc: str = "") -> property:
    """A file of the folder `dir`, named here once."""
    return property(lambda self: self.dir / name, doc=doc or None)


@dataclass(frozen=True)
class TrainedModel:
    """What a training writes: train@V into models/V, repeat@V-S into runs/V/S/train."""
    dir: Path

    weights = file("model.pt", "the state dict only")
    card = file("model.json", "what rebuilds the model: its arguments, input size, classes, normalisation")
    metrics = file("metrics.json")
    timing = file("timing.json", "wall times, apart from the metrics that repeat to the byte")
    history = file("history.csv")
    curves = file("curves.png")
    mlflow_run = file("mlflow_run.json")


@dataclass(frozen=True)
class TestResults:
    """What evaluate@V writes into reports/variants/V (repeat@V-S into runs/V/S/test);
    saliency@V adds its own beside it."""
    dir: Path

    metrics = file("metrics.json")
    predictions = file("predictions.csv", "one row per test image: index, actual, predicted, confidence")
    per_class = file("per_class.csv")
    confusion = file("confusion.png")
    misclassified = file("misclassified.png")
    misclassified_metrics = file("misclassified.json")
    saliency = file("saliency", "saliency@V's pictures")
    saliency_metrics = file("saliency_metrics.json")

    def saliency_figure(self, view: str) -> Path:
        """methods (every method side by side), targets (one image, several classes),
        mistakes, or sample_M (method M's maps on their own scale)."""
        return self.saliency / f"{view}.png"

    @property
    def saliency_maps(self) -> Path:
        """Every map drawn, with the test rows and targets they explain."""
        return self.saliency / "maps.npz"


@dataclass(frozen=True)
class LRFindResults:
    """lr_find@V's folder, models/V/lr_find."""
    dir: Path

    lr = file("lr.json", "the lr training uses, and where it came from")
    table = file("range_test.csv")
    plot = file("range_test.png")


@dataclass(frozen=True)
class SeedRun:
    """repeat@V-S's folder: one (variant, training seed) run."""
    dir: Path

    @property
    def train(self) -> TrainedModel:
        return TrainedModel(self.dir / "train")

    @property
    def test(self) -> TestResults:
        return TestResults(self.dir / "test")


@dataclass(frozen=True)
class ReportFiles:
    """The report stage's outputs."""
    dir: Path = REPORTS

    markdown = file("report.md")
    html = file("report.html")
    summary = file("summary.json")
    curves = file("curves.png")
    accuracy = file("accuracy.png")
    history = file("history.csv", "every variant's per-epoch history, a row per (variant, epoch)")
    families = file("families", "a figure per experiment family")

    def time_accuracy(self, family: str) -> Path:
        return self.families / f"{family}_time_accuracy.png"


REPORT = ReportFiles()


@dataclass(frozen=True)
class DataOverviewFiles:
    """The data_overview stage's outputs: what the data itself looks like."""
    dir: Path = REPORTS / "data"

    counts = file("class_counts.csv", "images per class and split (dvc plots draws it as bars)")
    counts_figure = file("class_counts.png")
    samples = file("samples.png", "a grid of training images, a row per class")
    metrics = file("overview.json")


DATA_OVERVIEW = DataOverviewFiles()


def trained(variant: str) -> TrainedModel:
    """train@V's model (the first training seed's)."""
    return TrainedModel(MODELS / variant)


def tested(variant: str) -> TestResults:
    """evaluate@V's results, with saliency@V's."""
    return TestResults(REPORTS / "variants" / variant)


def lr_find(variant: str) -> LRFindResults:
    return LRFindResults(MODELS / variant / "lr_find")


def seed_run(variant: str, seed: int) -> SeedRun:
    return SeedRun(RUNS / variant / str(seed))


def resume_file(variant: str, seed: int | None = None) -> Path:
    return RESUME / (f"{variant}.pt" if seed is None else f"{variant}-{seed}.pt")


def require(path: Path, stage: str) -> Path:
    """An earlier stage's output, or a UserError saying which stage to run."""
    if not Path(path).exists():
        raise UserError(f"{path} is missing; run the {stage} stage first (dvc repro {stage}).")
    return Path(path)
