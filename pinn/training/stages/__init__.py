"""Training stages: the :class:`Stage` interface and the built-in Adam, quasi-Newton and Gauss-Newton stages."""

from pinn.training.stages.adam import ADAM_IMPLS, Adam, adam
from pinn.training.stages.base import Stage
from pinn.training.stages.gauss_newton import GaussNewton
from pinn.training.stages.quasi_newton import METHODS, QuasiNewton

__all__ = ["Stage", "Adam", "QuasiNewton", "GaussNewton", "ADAM_IMPLS", "METHODS", "adam"]
