"""Where each stage's outputs live (the same paths dvc.yaml declares)."""

from pathlib import Path

RAW = Path("data/raw")
SPLIT = Path("data/split.json")
STATS = Path("data/stats.json")
MODELS = Path("models")
REPORTS = Path("reports")


def model_dir(variant: str) -> Path:
    return MODELS / variant


def variant_report_dir(variant: str) -> Path:
    return REPORTS / "variants" / variant
