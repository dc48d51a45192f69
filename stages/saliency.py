"""saliency@V: occlusion-sensitivity maps for a seeded per-class sample of test images."""

from cnnlab.explain.run import explain_variant
from cnnlab.stage import run_stage

if __name__ == "__main__":
    run_stage(explain_variant, per_variant=True)
