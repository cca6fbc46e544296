"""Networks: a multilayer perceptron composed of parts (:mod:`pinn.nets.parts`): inputs scaled to
``[-1, 1]``, optionally periodic, with Fourier features, and a plain or modified trunk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from pinn.core.checks import count, positive_int
from pinn.physics.coefficients import WithCoefficients
from pinn.physics.constraints import HardConstraint
from pinn.nets.parts import (
    FourierFeatures,
    InputScaling,
    ModifiedTrunk,
    PeriodicEmbedding,
    PlainTrunk,
    _fourier_scale,
    activations,
)

__all__ = ["MLP", "jet_networks", "jet_parts", "jet_support", "plain_jets"]

#: Where each state-dict entry of the one-class MLP (0.2 and before) lives now, for old checkpoints.
_OLD_KEYS = (("center", "scaling.center"), ("half_width", "scaling.half_width"), ("layers.", "trunk.layers."),
             ("encoders.", "trunk.encoders."), ("activations.", "trunk.activations."))


class MLP(nn.Module):
    """Fully connected network ``R^d -> R^outputs``, composed ``scaling -> embeddings -> trunk``.

    - ``scaling`` (:class:`~pinn.nets.parts.InputScaling`) maps the box ``[lower, upper]`` affinely
      onto ``[-1, 1]^d``.
    - ``embeddings``, in order, any of: a :class:`~pinn.nets.parts.PeriodicEmbedding` (a coordinate
      named in ``periodic`` enters as ``(cos(pi h), sin(pi h))``: the network is exactly periodic in
      it, with the box's length as period, in value and every derivative), then
      :class:`~pinn.nets.parts.FourierFeatures` (``fourier_features = m > 0`` random pairs
      ``cos(pi h B), sin(pi h B)``, ``B ~ N(0, fourier_scale^2)``, which let a small network
      represent high frequencies).
    - ``trunk``: a :class:`~pinn.nets.parts.PlainTrunk`, or with ``modified=True`` the gated
      :class:`~pinn.nets.parts.ModifiedTrunk` of Wang, Teng & Perdikaris (2021); its activations
      are fixed or adaptive (:func:`~pinn.nets.parts.activations`).

    Weights get Xavier-normal initialisation from ``generator`` (``B`` drawn first); biases start at zero.

    Args:
        lower: ``(d,)`` lower corner of the input box.
        upper: ``(d,)`` upper corner of the input box.
        width: neurons per hidden layer (> 0).
        depth: number of hidden layers (> 0).
        activation: activation name (see :data:`pinn.nets.activations.ACTIVATIONS`).
        generator: the random source for the initial weights.
        dtype: parameter dtype.
        periodic: indices of the periodic coordinates.
        fourier_features: number of random Fourier feature pairs (0: none).
        fourier_scale: standard deviation of their frequencies, in half-periods per
            half-width of the box: one number, or one per network input (the coordinates
            in order, then the ``sin`` parts of the periodic ones), so that an input with
            a fine scale gets high frequencies and the others low or none (0).
        outputs: values per point, one per field of the PDE (the last layer's width).
        modified: use the modified MLP's gated hidden layers (plus the two encoder layers),
            as jaxpi's ``ModifiedMlp``.
        adaptive: ``"none"``; ``"global"``, one trained slope ``a`` in ``f(n a x)`` shared by every
            layer (GAAF); or ``"layer"``, one slope per hidden layer and encoder (LAAF), Jagtap et
            al. 2020 (see :mod:`pinn.nets.adaptive_activations`).
        adaptive_scale: the fixed factor ``n`` of the adaptive activations (slopes start at ``1 / n``).
    """

    def __init__(
        self,
        lower: torch.Tensor,
        upper: torch.Tensor,
        *,
        width: int = 20,
        depth: int = 8,
        activation: str = "tanh",
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
        periodic: tuple[int, ...] = (),
        fourier_features: int = 0,
        fourier_scale: float | Sequence[float] = 1.0,
        modified: bool = False,
        outputs: int = 1,
        adaptive: str = "none",
        adaptive_scale: float = 10.0,
    ):
        super().__init__()
        for name, value in (("width", width), ("depth", depth), ("outputs", outputs)):
            positive_int(name, value)
        count("fourier_features", fourier_features)
        if not isinstance(modified, bool):
            raise ValueError(f"modified must be true or false, got {modified!r}")
        self.scaling = InputScaling(lower, upper, dtype=dtype)
        features = self.scaling.features
        parts: list[nn.Module] = []
        if periodic:
            embedding = PeriodicEmbedding(periodic, features=features)
            parts.append(embedding)
            features = embedding.features
        _fourier_scale(fourier_scale, features)  # checked even when unused: a typo should not wait
        if fourier_features:
            fourier = FourierFeatures(fourier_features, features=features, scale=fourier_scale,
                                      generator=generator, dtype=dtype)
            parts.append(fourier)
            features = fourier.features
        self.embeddings = nn.Sequential(*parts)
        trunk = ModifiedTrunk if modified else PlainTrunk
        acts = activations(activation, count=depth + 2 * modified, adaptive=adaptive, scale=adaptive_scale,
                           dtype=dtype)
        self.trunk = trunk(features, width=width, depth=depth, outputs=outputs, activations=acts,
                           generator=generator, dtype=dtype)
        self._register_load_state_dict_pre_hook(_old_keys)

    @classmethod
    def from_parts(cls, scaling: InputScaling, trunk: PlainTrunk | ModifiedTrunk, *,
                   embeddings: Sequence[nn.Module] = ()) -> MLP:
        """The network ``scaling -> embeddings -> trunk`` from parts built by the caller: the
        composition itself, which the keyword constructor is a shorthand for.

        Args:
            scaling: the input scaling (its box gives the input dimension ``d``).
            trunk: a :class:`~pinn.nets.parts.PlainTrunk` or :class:`~pinn.nets.parts.ModifiedTrunk`.
            embeddings: any of :class:`~pinn.nets.parts.PeriodicEmbedding` and
                :class:`~pinn.nets.parts.FourierFeatures`, in order; each takes the features the
                one before it gives.

        Raises:
            ValueError: when a part does not take the features the one before gives.
        """
        if not isinstance(scaling, InputScaling):
            raise TypeError(f"scaling must be a pinn.nets.parts.InputScaling, got {type(scaling).__name__}")
        if not isinstance(trunk, (PlainTrunk, ModifiedTrunk)):
            raise TypeError(f"trunk must be a PlainTrunk or a ModifiedTrunk, got {type(trunk).__name__}")
        features = scaling.features
        for part in embeddings:
            if not isinstance(part, (PeriodicEmbedding, FourierFeatures)):
                raise TypeError(f"embeddings must be PeriodicEmbedding or FourierFeatures, got {type(part).__name__}")
            if part.inputs != features:
                raise ValueError(f"{type(part).__name__} takes {part.inputs} features, but the part before it "
                                 f"gives {features}")
            features = part.features
        if trunk.layers[0].in_features != features:
            raise ValueError(f"the trunk takes {trunk.layers[0].in_features} features, but the embeddings give "
                             f"{features}")
        net = cls.__new__(cls)
        nn.Module.__init__(net)
        net.scaling, net.embeddings, net.trunk = scaling, nn.Sequential(*embeddings), trunk
        net._register_load_state_dict_pre_hook(_old_keys)
        return net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, d) -> (N, outputs)``."""
        return self.trunk(self.embeddings(self.scaling(x)))

    def part(self, kind: type[nn.Module]) -> nn.Module | None:
        """The embedding of type ``kind`` (``PeriodicEmbedding`` or ``FourierFeatures``), or ``None``."""
        return next((p for p in self.embeddings if type(p) is kind), None)


def _old_keys(state_dict, prefix, *_args) -> None:
    """Renames a one-class MLP's state-dict entries (before the parts) to the parts' names.  Its
    ``fourier_b`` has ``d + p`` rows (``p`` periodic coordinates), so ``p > 0`` puts the features
    second, after the periodic embedding."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        rest = key[len(prefix):]
        if rest == "fourier_b":
            center = state_dict.get(f"{prefix}center", state_dict.get(f"{prefix}scaling.center"))
            index = int(center is not None and state_dict[key].shape[0] > center.numel())
            state_dict[f"{prefix}embeddings.{index}.b"] = state_dict.pop(key)
            continue
        for old, new in _OLD_KEYS:
            if rest.startswith(old):
                state_dict[prefix + new + rest[len(old):]] = state_dict.pop(key)
                break


def jet_parts(model) -> tuple[Any, Callable | None]:
    """``(net, transform)``: the network the jet engines push derivatives through, and the output
    transform applied after it, ``transform(raw (N, F), x (N, d)) -> (N, F)`` (a hard constraint's
    :meth:`~pinn.physics.constraints.HardConstraint.transform`), or ``None`` for a bare network.
    Learned coefficients (:class:`~pinn.physics.coefficients.WithCoefficients`) are looked through:
    the residuals read them from the PDE."""
    if type(model) is WithCoefficients:
        model = model.net
    if type(model) is HardConstraint:
        return model.net, model.transform
    return model, None


def jet_networks(net) -> list[tuple[MLP, tuple[int, ...] | None]]:
    """The :class:`MLP` s that make ``net`` (the network of :func:`jet_parts`), each with the input
    columns it reads (``None``: all): ``[(net, None)]`` for an MLP; one per field, in field order, for
    a :class:`~pinn.nets.per_field.PerFieldMLP`, whose output is theirs side by side."""
    from pinn.nets.per_field import PerFieldMLP  # built on this module: imported where it is asked for

    if type(net) is PerFieldMLP:
        return list(zip(net.nets, net.columns))  # type: ignore[arg-type]
    return [(net, None)]


def jet_support(model) -> str | None:
    """Why the jet engines (``derivatives=taylor`` and ``fused``: input derivatives pushed forward
    through the layers, :mod:`pinn.diff.jets` and :mod:`pinn.diff.network_jets`) cannot
    differentiate ``model``, or ``None`` if they can: the one answer to "what can the fast engines
    do with this network".  They need an :class:`MLP` itself or one per field
    (:class:`~pinn.nets.per_field.PerFieldMLP`), each with any embeddings, a plain or modified trunk
    and activations with closed-form derivatives (adaptive ones included), bare or inside a hard
    constraint (whose transform the jets pass through, :mod:`pinn.diff.transform_jets`), with or
    without learned coefficients."""
    from pinn.nets.per_field import PerFieldMLP

    net, transform = jet_parts(model)
    if type(net) not in (MLP, PerFieldMLP):
        held = " inside a hard constraint" if transform is not None else ""
        return f"an MLP (pinn.MLP itself, or pinn.nets.per_field.PerFieldMLP){held}, got {type(net).__name__}"
    for mlp, _ in jet_networks(net):
        if type(mlp.trunk) not in (PlainTrunk, ModifiedTrunk):
            return f"an MLP with a plain or modified trunk, got a {type(mlp.trunk).__name__}"
        lacking = sorted({type(a).__name__ for a in mlp.trunk.activations if not callable(getattr(a, "tower", None))})
        if lacking:
            return f"activations with closed-form derivatives (a tower method); {', '.join(lacking)} has none"
    return None


def plain_jets(net) -> bool:
    """Whether ``net`` is one :class:`MLP` with affine inputs and a plain trunk: the jets' folded first
    layer and hand-written adjoint (:mod:`pinn.diff.jets`) apply; others (per-field networks
    included) take :mod:`pinn.diff.network_jets`."""
    return type(net) is MLP and not len(net.embeddings) and type(net.trunk) is PlainTrunk
