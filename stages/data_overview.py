"""data_overview: images per class in each split and a grid of sample training images."""

from cnnlab.data.overview import data_overview
from cnnlab.stage import run_stage

if __name__ == "__main__":
    run_stage(data_overview)
