"""Moved to :mod:`pinn.training.resampling` in pinn 0.3; this alias warns, and goes in 0.4 (CHANGELOG.md)."""

import warnings

from pinn.training.resampling import *  # noqa: F403
from pinn.training.resampling import __all__  # noqa: F401

warnings.warn(
    "pinn.training.adaptive moved to pinn.training.resampling; import it from there (the old name goes in pinn 0.4)",
    DeprecationWarning,
    stacklevel=2,
)
