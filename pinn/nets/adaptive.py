"""Moved to :mod:`pinn.nets.adaptive_activations` in pinn 0.3; this alias warns, and goes in 0.4 (CHANGELOG.md)."""

import warnings

from pinn.nets.adaptive_activations import *  # noqa: F403
from pinn.nets.adaptive_activations import __all__  # noqa: F401

warnings.warn(
    "pinn.nets.adaptive moved to pinn.nets.adaptive_activations; import it from there (the old name goes in pinn 0.4)",
    DeprecationWarning,
    stacklevel=2,
)
