"""evaluate@V: test metrics, per-class table, confusion matrix."""

from cnnlab.evaluate.run import evaluate_variant
from cnnlab.stage import run_stage

if __name__ == "__main__":
    run_stage(evaluate_variant, per_variant=True)
