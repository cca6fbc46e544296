"""The package's version, in a module of its own so that any layer may read it without importing
:mod:`pinn` (whose ``__init__`` imports every layer)."""

__version__ = "0.3.0.dev0"
