"""Moved to :mod:`pinn.io.checkpoints` in pinn 0.3 (the run directory's files live in ``io``, with
its owner :class:`pinn.io.run_dir.RunDir`); this alias warns, and goes in 0.4 (CHANGELOG.md)."""

import warnings

from pinn.io.checkpoints import *  # noqa: F403
from pinn.io.checkpoints import __all__  # noqa: F401

warnings.warn(
    "pinn.training.checkpoints moved to pinn.io.checkpoints; import it from there (the old name goes in pinn 0.4)",
    DeprecationWarning,
    stacklevel=2,
)
