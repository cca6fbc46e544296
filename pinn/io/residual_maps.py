"""Moved to :mod:`pinn.evaluation.residual_maps` in pinn 0.3; this alias warns, and goes in 0.4 (CHANGELOG.md)."""

import warnings

from pinn.evaluation.residual_maps import *  # noqa: F403
from pinn.evaluation.residual_maps import __all__  # noqa: F401

warnings.warn(
    "pinn.io.residual_maps moved to pinn.evaluation.residual_maps; import it from there "
    "(the old name goes in pinn 0.4)",
    DeprecationWarning,
    stacklevel=2,
)
