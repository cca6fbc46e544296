"""Training: the loop, losses, resampling, quasi-Newton optimisers, checkpoints, compiling, data parallelism."""
