"""lr_find@V: the LR range test when the variant's lr is auto; otherwise it passes the lr on."""

from cnnlab.stage import run_stage
from cnnlab.train.lr_choice import lr_find_variant

if __name__ == "__main__":
    run_stage(lr_find_variant, per_variant=True)
