"""cnnlab: a reproducible lab for training image classifiers and explaining them."""

__version__ = "0.1.0"
