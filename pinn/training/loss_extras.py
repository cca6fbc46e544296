"""The PINN loss's options as small objects: each checks its own arguments and says what it supports.

:class:`~pinn.training.losses.PINNLoss` takes them as ``extras=[...]``:

- :class:`DataMisfit`: the data term, ``mean((u(p) - u_obs)^2)`` over observations;
- :class:`CausalWeighting`: causal weighting in time (Wang, Sankaran & Perdikaris 2022);
- :class:`GradientEnhanced`: gPINN's input-gradient term (Yu, Lu, Meng & Karniadakis 2022);
- :class:`SlopeRecovery`: the slope-recovery term of adaptive activations (Jagtap et al. 2020);
- :class:`PointClip`: each point's gradient clipped to a multiple of its term's median.

What each says of itself: :attr:`LossExtra.fused` (the fused step, ``derivatives=fused``, can run
it) and :attr:`LossExtra.exact_gradient` (quasi-Newton line searches need it switched off, to see
the loss's own gradient).  The fused step and the quasi-Newton stages ask the extras, not a list
of option names.
"""

from __future__ import annotations

import abc
from typing import ClassVar

from pinn.core.checks import number, positive_int

__all__ = ["LossExtra", "DataMisfit", "CausalWeighting", "GradientEnhanced", "SlopeRecovery", "PointClip"]


def _weight(key: str, value, *, positive: bool = True) -> float:
    return number(key, value, low=0, strict=positive)


class LossExtra(abc.ABC):
    """One option of the PINN loss (see the module docs).

    Attributes:
        key: the config key that sets it, for messages (``loss.gradient_weight``).
        fused: whether the fused step (``derivatives=fused``) runs it.
        exact_gradient: whether it changes the gradient but not the loss's value, and so is
            switched off where a line search compares the two (:meth:`off`).
    """

    key: ClassVar[str]
    fused: ClassVar[bool] = False
    exact_gradient: ClassVar[bool] = False

    def check(self, pde) -> None:  # noqa: B027 - most extras fit every PDE
        """Refuse a PDE this option cannot apply to, naming the fix.  By default every PDE fits."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class DataMisfit(LossExtra):
    """The data term ``"data"``: ``mean((u(p) - u_obs)^2)`` over the observation points
    ``points["data"]`` with values ``points["data_values"]``.

    Args:
        field: the field observed (default the PDE's first).
    """

    key = "data.samples/data.path"
    fused = True

    def __init__(self, field: str | None = None):
        if field is not None and not isinstance(field, str):
            raise TypeError(f"DataMisfit(field=...) names a field, got {field!r:.60}")
        self.field = field

    def check(self, pde) -> None:
        if self.field is not None and self.field not in pde.fields:
            raise ValueError(f"observations of {self.field!r}: not a field of {pde.name}, whose fields are "
                             f"{list(pde.fields)}")


class CausalWeighting(LossExtra):
    """Causal weighting in time: the interior points are split into ``chunks`` equal time slabs with
    mean squared residuals ``L_1..L_M``, and the residual term becomes ``mean_k w_k L_k`` with
    ``w_k = exp(-eps * sum_{j<k} L_j)`` (no gradient through ``w``).  With several equations ``L_k``
    is the sum of theirs.  The smallest weight is reported as the part ``causal_min_weight``.

    Args:
        chunks: the number of time slabs ``M`` (> 0).
        eps: the causality parameter (> 0).
    """

    key = "loss.causal_chunks"
    fused = True

    def __init__(self, chunks: int, eps: float = 1.0):
        positive_int("loss.causal_chunks", chunks, hint="(0: off)")
        self.chunks, self.eps = chunks, _weight("loss.causal_eps", eps)

    def check(self, pde) -> None:
        if pde.domain.time_name not in pde.domain.coordinates:
            raise ValueError(f"causal weighting needs a time coordinate; {pde.name} is steady "
                             f"(set loss.causal_chunks=0)")


class GradientEnhanced(LossExtra):
    """gPINN: add ``weight * sum_eq sum_k mean((d r_eq / d x_k)^2)`` over the interior points, the input
    gradient of every equation's residual through one more ``create_graph`` derivative; reported
    as the part ``gpinn``.

    Args:
        weight: its weight (> 0).
    """

    key = "loss.gradient_weight"

    def __init__(self, weight: float):
        self.weight = _weight(self.key, weight)


class SlopeRecovery(LossExtra):
    """Add ``weight / mean_k exp(a_k)`` over the adaptive activations' slopes
    (:func:`pinn.nets.adaptive_activations.slope_recovery`); reported as the part ``slope_recovery``.
    The model must have adaptive activations.

    Args:
        weight: its weight (> 0).
    """

    key = "loss.slope_recovery"
    fused = True

    def __init__(self, weight: float):
        self.weight = _weight(self.key, weight)


class PointClip(LossExtra):
    """Clip the gradient each point's residual sends into the network to ``factor`` times the median
    over its term's points (:func:`pinn.training.clipping.clip_point_gradients`); the loss's value is
    unchanged, so quasi-Newton stages switch it off (:attr:`exact_gradient`).

    Args:
        factor: the multiple of the median (> 0).
    """

    key = "loss.point_clip"
    fused = True
    exact_gradient = True

    def __init__(self, factor: float):
        self.factor = _weight(self.key, factor)
