"""misclassified@V: a gallery of the test images the variant gets wrong."""

from cnnlab.evaluate.gallery import misclassified_gallery
from cnnlab.stage import run_stage

if __name__ == "__main__":
    run_stage(misclassified_gallery, per_variant=True)
