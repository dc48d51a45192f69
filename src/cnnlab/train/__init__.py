"""Training: the loop, optimizers and schedulers, devices, checkpoints."""
