"""Outward normals inside residual terms: Neumann and Robin conditions.

A term on a boundary set reads the normal at its points from the domain, computed from the
points' coordinates (:meth:`pinn.geometry.Geometry.normal`), so the points need no extra
columns and resampled or checkpointed points keep working.  The normal is treated as data:
it carries no gradient.  Both kinds of domain (:class:`~pinn.physics.domains.Domain` and
:class:`~pinn.physics.shape_domain.ShapeDomain`) give it as ``domain.normal(coords)``;
:func:`normal_derivative` builds ``du/dn`` from it::

    Term("neumann", "boundary:sphere", ("u", *gradient_names("u", names)),
         lambda f, c: normal_derivative(f, c, domain, "u") - f["u"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from pinn.physics.terms import Term

__all__ = ["normal_of", "normal_derivative", "gradient_names", "robin"]


def normal_of(geometry, names: Sequence[str], coords: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``{name: n_name}``: the outward unit normal of ``geometry`` at the points ``coords`` (one
    tensor per coordinate, of one shape: a batch ``(N,)`` or, under ``vmap``, a point ``()``)."""
    missing = [n for n in names if n not in coords]
    if missing:
        raise ValueError(f"the normal needs the coordinates {list(names)}; {missing} are not given")
    first = coords[names[0]]
    x = torch.stack([coords[n].detach() for n in names], dim=-1).reshape(-1, len(names))
    n = geometry.normal(x).to(first.dtype)
    return {name: n[:, i].reshape(first.shape) for i, name in enumerate(names)}


def gradient_names(field: str, names: Sequence[str]) -> tuple[str, ...]:
    """The derivative names of ``field``'s gradient: ``("u_x", "u_y")``; declare them in the term's fields."""
    return tuple(f"{field}_{n}" for n in names)


def normal_derivative(fields: Mapping[str, torch.Tensor], coords: Mapping[str, torch.Tensor], domain,
                      field: str = "u") -> torch.Tensor:
    """``d field / dn`` = grad(field) . n at boundary points; ``fields`` must hold ``field``'s
    first derivatives along every spatial coordinate (:func:`gradient_names`)."""
    normal = domain.normal(coords)
    missing = [g for g in gradient_names(field, normal) if g not in fields]
    if missing:
        raise ValueError(f"d{field}/dn needs {missing}: add them to the term's fields")
    return sum(fields[f"{field}_{name}"] * n for name, n in normal.items())


def robin(domain, part: str, value: float, *, transfer: float = 1.0, field: str = "u",
          name: str | None = None) -> Term:
    """The Robin condition ``d field / dn = transfer (value - field)`` on the boundary part ``part``
    of a shape's domain (:class:`~pinn.physics.shape_domain.ShapeDomain`), ``n`` the outward normal
    (on a hole's circle it points into the hole): a :class:`~pinn.physics.terms.Term` named
    ``name`` (default ``part``) on the point set ``boundary:PART``.  ``transfer = 0`` is a Neumann
    condition with zero flux; a large one tends to ``field = value``."""
    parts = domain.geometry.parts
    if part not in parts:
        raise ValueError(f"no boundary part {part!r} for a Robin condition; the domain's parts are {list(parts)}")
    value, transfer = float(value), float(transfer)

    def residual(f, c):
        return normal_derivative(f, c, domain, field) - transfer * (value - f[field])

    return Term(name or part, f"boundary:{part}", (field, *gradient_names(field, domain.space_names)), residual)
