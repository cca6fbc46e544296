"""The command-line and config layer: the only part of ``pinn`` that imports Hydra."""
