"""train@V: train one variant from the first training seed, keep its best epoch on validation accuracy."""

from cnnlab.stage import run_stage
from cnnlab.train.run import train_variant

if __name__ == "__main__":
    run_stage(train_variant, per_variant=True, seeded=True)
