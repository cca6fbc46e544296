"""The shared vocabulary at the bottom of the package stack: argument checks every layer uses."""

from pinn.core.checks import choice, count, number, positive, positive_int

__all__ = ["choice", "count", "number", "positive", "positive_int"]
