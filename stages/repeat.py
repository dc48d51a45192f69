"""repeat@V-S: the run of variant V from training seed S, in runs/V/S/ (statistics over seeds)."""

from cnnlab.repeat import repeat_run
from cnnlab.stage import run_stage

if __name__ == "__main__":
    run_stage(repeat_run, per_variant=True, seeded=True)
