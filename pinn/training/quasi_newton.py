"""Moved to :mod:`pinn.training.dense_bfgs` in pinn 0.3; this alias warns, and goes in 0.4 (CHANGELOG.md)."""

import warnings

from pinn.training.dense_bfgs import *  # noqa: F403
from pinn.training.dense_bfgs import __all__  # noqa: F401

warnings.warn(
    "pinn.training.quasi_newton moved to pinn.training.dense_bfgs; import it from there "
    "(the old name goes in pinn 0.4)",
    DeprecationWarning,
    stacklevel=2,
)
