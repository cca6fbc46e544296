"""Moved to :mod:`pinn.physics.fields` in pinn 0.3; this alias warns, and goes in 0.4 (CHANGELOG.md)."""

import warnings

from pinn.physics.fields import *  # noqa: F403
from pinn.physics.fields import __all__  # noqa: F401

warnings.warn(
    "pinn.diff.fields moved to pinn.physics.fields; import it from there (the old name goes in pinn 0.4)",
    DeprecationWarning,
    stacklevel=2,
)
