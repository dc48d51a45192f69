"""Where each stage's outputs live (the same paths dvc.yaml declares)."""

from pathlib import Path

from cnnlab.errors import UserError

RAW = Path("data/raw")
# The download stage's metrics: images kept, classes, files skipped.
DOWNLOAD_METRICS = Path("data/download.json")
SPLIT = Path("data/split.json")
STATS = Path("data/stats.json")
MODELS = Path("models")
REPORTS = Path("reports")
# Resume states of interrupted trainings: outside every DVC output, git-ignored.
RESUME = Path(".cnnlab/resume")


def model_dir(variant: str) -> Path:
    return MODELS / variant


def lr_find_dir(variant: str) -> Path:
    return MODELS / variant / "lr_find"


def resume_file(variant: str, seed: int | None = None) -> Path:
    return RESUME / (f"{variant}.pt" if seed is None else f"{variant}-{seed}.pt")


# One folder per (variant, training seed): what the statistics over seeds read.
RUNS = Path("runs")


def run_dir(variant: str, seed: int) -> Path:
    return RUNS / variant / str(seed)


def variant_report_dir(variant: str) -> Path:
    return REPORTS / "variants" / variant


def require(path: Path, stage: str) -> Path:
    """An earlier stage's output, or a UserError saying which stage to run."""
    if not Path(path).exists():
        raise UserError(f"{path} is missing; run the {stage} stage first (dvc repro {stage}).")
    return Path(path)
