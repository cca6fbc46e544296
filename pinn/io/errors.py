"""The error of the run-directory layer (no imports, so every ``pinn.io`` module can raise it)."""

from __future__ import annotations

__all__ = ["RunDirError"]


class RunDirError(ValueError):
    """A directory is missing, is not a finished ``pinn`` run, or holds something pinn refuses to read or write."""
