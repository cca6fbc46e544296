"""Moved to :mod:`pinn.training.fused_step` in pinn 0.3; this alias warns, and goes in 0.4 (CHANGELOG.md)."""

import warnings

from pinn.training.fused_step import *  # noqa: F403
from pinn.training.fused_step import __all__  # noqa: F401

warnings.warn(
    "pinn.training.fused moved to pinn.training.fused_step; import it from there (the old name goes in pinn 0.4)",
    DeprecationWarning,
    stacklevel=2,
)
