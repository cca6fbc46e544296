"""Moved to :mod:`pinn.evaluation.grid` in pinn 0.3; this alias warns, and goes in 0.4 (CHANGELOG.md)."""

import warnings

from pinn.evaluation.grid import *  # noqa: F403
from pinn.evaluation.grid import __all__  # noqa: F401

warnings.warn(
    "pinn.io.evaluation moved to pinn.evaluation.grid; import it from there (the old name goes in pinn 0.4)",
    DeprecationWarning,
    stacklevel=2,
)
