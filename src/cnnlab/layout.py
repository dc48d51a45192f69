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


@dataclass(frozen=True)
class TrainedModel:
    """What a training writes: train@V into models/V, repeat@V-S into runs/V/S/train."""
    dir: Path

    @property
    def weights(self) -> Path:  # the state dict only
        return self.dir / "model.pt"

    @property
    def card(self) -> Path:  # what rebuilds the model: its arguments, input size, classes, normalisation
        return self.dir / "model.json"

    @property
    def metrics(self) -> Path:
        return self.dir / "metrics.json"

    @property
    def timing(self) -> Path:  # wall times, apart from the metrics that repeat to the byte
        return self.dir / "timing.json"

    @property
    def history(self) -> Path:
        return self.dir / "history.csv"

    @property
    def curves(self) -> Path:
        return self.dir / "curves.png"

    @property
    def mlflow_run(self) -> Path:
        return self.dir / "mlflow_run.json"


@dataclass(frozen=True)
class TestResults:
    """What evaluate@V writes into reports/variants/V (repeat@V-S into runs/V/S/test);
    misclassified@V and saliency@V add theirs beside it."""
    dir: Path

    @property
    def metrics(self) -> Path:
        return self.dir / "metrics.json"

    @property
    def predictions(self) -> Path:  # one row per test image: index, actual, predicted, confidence
        return self.dir / "predictions.csv"

    @property
    def per_class(self) -> Path:
        return self.dir / "per_class.csv"

    @property
    def confusion(self) -> Path:
        return self.dir / "confusion.png"

    @property
    def misclassified(self) -> Path:
        return self.dir / "misclassified.png"

    @property
    def misclassified_metrics(self) -> Path:
        return self.dir / "misclassified.json"

    @property
    def saliency(self) -> Path:  # saliency@V's pictures
        return self.dir / "saliency"

    def saliency_figure(self, view: str) -> Path:
        """methods (every method side by side), targets (one image, several classes),
        mistakes, or sample_M (method M's maps on their own scale)."""
        return self.saliency / f"{view}.png"

    @property
    def saliency_maps(self) -> Path:  # every map drawn, with the test rows and targets they explain
        return self.saliency / "maps.npz"

    @property
    def saliency_metrics(self) -> Path:
        return self.dir / "saliency_metrics.json"


@dataclass(frozen=True)
class LRFindResults:
    """lr_find@V's folder, models/V/lr_find."""
    dir: Path

    @property
    def lr(self) -> Path:  # the lr training uses, and where it came from
        return self.dir / "lr.json"

    @property
    def table(self) -> Path:
        return self.dir / "range_test.csv"

    @property
    def plot(self) -> Path:
        return self.dir / "range_test.png"


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

    @property
    def markdown(self) -> Path:
        return self.dir / "report.md"

    @property
    def html(self) -> Path:
        return self.dir / "report.html"

    @property
    def summary(self) -> Path:
        return self.dir / "summary.json"

    @property
    def curves(self) -> Path:
        return self.dir / "curves.png"

    @property
    def accuracy(self) -> Path:
        return self.dir / "accuracy.png"


REPORT = ReportFiles()


def trained(variant: str) -> TrainedModel:
    """train@V's model (the first training seed's)."""
    return TrainedModel(MODELS / variant)


def tested(variant: str) -> TestResults:
    """evaluate@V's results, with misclassified@V's and saliency@V's."""
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
