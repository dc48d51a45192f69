"""evaluate@V: test metrics, per-class table, confusion matrix, and the gallery of the most
confident mistakes (one stage: the gallery is a second of work, less than a stage's start-up)."""

from cnnlab.evaluate.gallery import misclassified_gallery
from cnnlab.evaluate.run import evaluate_variant
from cnnlab.params import Params
from cnnlab.stage import run_stage


def main(params: Params, name: str) -> None:
    evaluate_variant(params, name)
    misclassified_gallery(params, name)


if __name__ == "__main__":
    run_stage(main, per_variant=True)
