"""Moved to :mod:`pinn.training.ensemble` in pinn 0.3; this alias warns, and goes in 0.4 (CHANGELOG.md)."""

import warnings

from pinn.training.ensemble import *  # noqa: F403
from pinn.training.ensemble import __all__  # noqa: F401

warnings.warn(
    "pinn.nets.ensemble moved to pinn.training.ensemble; import it from there (the old name goes in pinn 0.4)",
    DeprecationWarning,
    stacklevel=2,
)
