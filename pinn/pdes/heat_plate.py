"""Heat on a perforated plate with Robin conditions on its named boundary parts: PINNacle's
Heat2d-CG (``Heat2D_ComplexGeometry``) by default.

    u_t = k (u_xx + u_yy)              on the plate, t in [0, 3],
    du/dn = h (g_part - u)             on each boundary part (n the outward normal: into a hole),
    u = u0                             at t = 0.

PINNacle's plate is ``[-8, 8] x [-12, 12]`` minus 11 disks of radius 1 (part ``big``, ``g = 5``)
and 6 of radius 0.4 (``small``, ``g = 1``), the sides ``outer`` with ``g = 0.1``; ``k = h = 1``,
``u0 = 0`` (``conf/geometry/pinnacle_heat_plate.yaml``).  PINNacle scores it on a COMSOL
solution (P2, largest element 0.24) that its repository keeps outside git; the reference here is
our own (:func:`reference`): P2 finite elements with BDF2 (:mod:`pinn.pdes._fem`, the optional
extra ``references``), checked against the closed-form series solution on a rectangle
(``tests/test_heat_plate.py``), converged on this plate and compared with rows of PINNacle's file
by ``scripts/heat_plate_reference.py`` (8.5e-4 apart; docs/accuracy.md).
It is computed on first use (some minutes) and cached in the user's cache directory; runs are
scored on it at a grid of points inside the plate (spacing ``grid``), every 0.1 in time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from pinn.geometry.shapes import Perforated
from pinn.pdes._cache import cache_dir, cached_arrays
from pinn.pdes._fem import steps_per
from pinn.pdes.base import PDE, finite, positive
from pinn.physics.constraints import time_factor
from pinn.physics.normals import robin
from pinn.physics.shape_domain import ShapeDomain
from pinn.physics.terms import Term

__all__ = ["HeatPlate", "PINNACLE_HEAT_PLATE", "reference", "wall_layer"]

#: PINNacle's Heat2d-CG plate: corners and holes by part (``conf/geometry/pinnacle_heat_plate.yaml``).
PINNACLE_HEAT_PLATE: tuple[tuple[float, float], tuple[float, float], dict[str, list[list[float]]]] = (
    (-8.0, -12.0), (8.0, 12.0), {
    "big": [[-4, -3, 1], [4, -3, 1], [-4, 3, 1], [4, 3, 1], [-4, -9, 1], [4, -9, 1], [-4, 9, 1], [4, 9, 1],
            [0, 0, 1], [0, 6, 1], [0, -6, 1]],
    "small": [[-3.2, -6, 0.4], [-3.2, 6, 0.4], [3.2, -6, 0.4], [3.2, 6, 0.4], [-3.2, 0, 0.4], [3.2, 0, 0.4]],
})
#: PINNacle's Robin values ``g`` by part.
PINNACLE_ROBIN = {"outer": 0.1, "big": 5.0, "small": 1.0}
#: The reference's resolution: mesh size, time step (its convergence: scripts/heat_plate_reference.py).
REFERENCE_H, REFERENCE_DT = 0.1, 0.005


class HeatPlate(PDE):
    """Heat on a perforated plate, a Robin condition on every boundary part (see the module docs).

    Args:
        geometry: a :class:`~pinn.geometry.Perforated` plate (config group ``geometry``), or ``None``
            for PINNacle's.
        robin: ``{part: g}`` for every boundary part of the plate, or ``None`` for PINNacle's.
        transfer: ``h`` in ``du/dn = h (g - u)``, >= 0.
        diffusivity: ``k``, > 0.
        initial: ``u0``.
        t: the time interval ``[0, t1]``; the reference's snapshots are every 0.1.
        grid: the spacing of the grid of points the run is scored at.
        reference_h, reference_dt: the reference's mesh size and time step (coarser ones compute in
            seconds, for quick checks; the defaults' convergence: ``scripts/heat_plate_reference.py``).
        layers: with ``hard_constraints=true``, add to ``u0 + tau u`` the boundary layers the
            Robin values start at ``t = 0`` (:meth:`boundary_layers`), so that the network learns
            the smooth rest: the Robin values are not compatible with ``u = u0`` at ``t = 0``
            (``du/dn`` jumps to ``h (g - u0)`` at once), which no smooth network holds.
    """

    name = "heat2d_cg"
    residual_fields = ("u_t", "u_xx", "u_yy")
    hard_terms = ("initial",)

    def __init__(self, *, geometry: Perforated | None = None, robin: Mapping[str, float] | None = None,
                 transfer: float = 1.0, diffusivity: float = 1.0, initial: float = 0.0,
                 t: Sequence[float] = (0.0, 3.0), grid: float = 0.25, reference_h: float = REFERENCE_H,
                 reference_dt: float = REFERENCE_DT, layers: bool = False):
        if geometry is None:
            geometry = Perforated(*PINNACLE_HEAT_PLATE)
        if not isinstance(geometry, Perforated):
            raise ValueError(f"heat2d_cg's reference is computed on a plate with holes (geometry=pinnacle_heat_plate "
                             f"or another pinn.geometry.Perforated), got {type(geometry).__name__}")
        self.plate = self.geometry = geometry
        values = dict(PINNACLE_ROBIN if robin is None else robin)
        parts = geometry.parts
        if set(values) != set(parts):
            raise ValueError(f"robin must give g for each boundary part {list(parts)}, e.g. "
                             f"+pde.robin={{{', '.join(f'{p}: 0.0' for p in parts)}}}; got {sorted(values)}")
        self.robin = {part: finite(f"robin.{part}", values[part]) for part in parts}
        self.transfer = finite("transfer", transfer)
        if self.transfer < 0:
            raise ValueError(f"transfer must be >= 0 (0: no flux), got {transfer}")
        self.diffusivity = positive("diffusivity", diffusivity)
        self.initial = finite("initial", initial)
        t0, t1 = (float(v) for v in t)
        steps = round(t1 / 0.1)
        if t0 != 0.0 or steps < 1 or abs(steps * 0.1 - t1) > 1e-9:
            raise ValueError(f"t must be [0, t1] with t1 a multiple of 0.1 (the reference's snapshots), got {list(t)}")
        self.grid = positive("grid", grid)
        self.reference_h = positive("reference_h", reference_h)
        self.reference_dt = positive("reference_dt", reference_dt)
        try:
            steps_per(0.1, self.reference_dt)
        except ValueError as err:
            raise ValueError(f"reference_dt must divide 0.1 (the snapshots' spacing), e.g. 0.005; got {reference_dt}"
                             ) from err
        if not isinstance(layers, bool):
            raise ValueError(f"layers must be true or false, got {layers!r}")
        self.layers = layers
        self.domain = ShapeDomain(geometry, (t0, t1), names=("x", "y"))
        self._nodes = None

    def residual(self, f, c):
        return f["u_t"] - self.diffusivity * (f["u_xx"] + f["u_yy"])

    def conditions(self) -> tuple[Term, ...]:
        u0 = self.initial
        return (Term("initial", "initial", ("u",), lambda f, c: f["u"] - u0),
                *(robin(self.domain, part, g, transfer=self.transfer) for part, g in self.robin.items()))

    def constrain(self, u, coords):
        """``u0 + tau u`` (``tau`` the time scaled to ``[0, 1]``): the initial value holds exactly;
        with ``layers``, plus :meth:`boundary_layers` (zero at ``t = 0``)."""
        out = self.initial + time_factor(self.domain, coords["t"]) * u
        if self.layers:
            out = out + self.boundary_layers(coords["x"], coords["y"], coords["t"])
        return out

    def boundary_layers(self, x, y, t):
        """``sum_pieces (g - u0) w(d, t)`` over every hole and every side of the plate, ``d`` the
        distance to the piece (a hole's: ``|x - c| - r``) and ``w`` the solution on a half-space
        (:func:`wall_layer`): near each piece, for short times, the solution itself (its Robin
        condition holds exactly on a flat wall, and on a circle up to the curvature's term
        ``k w_d / r`` in the residual, bounded); the pieces' sum is smooth.  Tensors of one shape."""
        k, h = self.diffusivity, self.transfer
        total = torch.zeros_like(x)
        for (cx, cy, r), part in zip(self.plate.holes, self.plate.hole_parts):
            d = torch.sqrt((x - cx) ** 2 + (y - cy) ** 2) - r
            total = total + (self.robin[part] - self.initial) * wall_layer(d, t, diffusivity=k, transfer=h)
        (x0, y0), (x1, y1) = self.plate.lower.tolist(), self.plate.upper.tolist()
        for d in (x - x0, x1 - x, y - y0, y1 - y):
            total = total + (self.robin["outer"] - self.initial) * wall_layer(d, t, diffusivity=k, transfer=h)
        return total

    def scoring_points(self) -> np.ndarray:
        """``(P, 2)``: the grid of spacing ``grid`` over the plate's box, the points inside the plate."""
        lo, hi = self.plate.lower.numpy(), self.plate.upper.numpy()
        axes = [np.linspace(lo[i], hi[i], int(round((hi[i] - lo[i]) / self.grid)) + 1) for i in range(2)]
        x, y = (a.ravel() for a in np.meshgrid(*axes, indexing="ij"))
        xy = np.stack([x, y], axis=1)
        keep = (self.plate.sdf(torch.from_numpy(xy)) <= 0).numpy()
        return xy[keep]

    def nodes(self):
        if self._nodes is None:
            xy = self.scoring_points()
            ref = reference(self.plate, self.robin, xy, transfer=self.transfer, diffusivity=self.diffusivity,
                            initial=self.initial, t_end=float(self.domain.upper[-1]), h=self.reference_h,
                            dt=self.reference_dt)
            times, u = ref["t"], ref["u"]
            cols = {"x": np.tile(xy[:, 0], len(times)), "y": np.tile(xy[:, 1], len(times)),
                    "t": np.repeat(times, len(xy))}
            self._nodes = (cols, u.reshape(-1))
        return self._nodes


def wall_layer(d, t, *, diffusivity: float = 1.0, transfer: float = 1.0):
    """``w = erfc(z) - exp(-z^2) erfcx(z + h sqrt(k t))``, ``z = d / (2 sqrt(k t))``: the solution of
    ``w_t = k w_dd`` on ``d > 0`` with ``w = 0`` at ``t = 0`` and ``-w_d = h (1 - w)`` at ``d = 0``
    (Carslaw and Jaeger, sec. 2.7, written with ``erfcx`` so that nothing overflows); 0 at ``t = 0``."""
    s = torch.sqrt(diffusivity * t.clamp_min(1e-30))
    z = d / (2 * s)
    return torch.erfc(z) - torch.exp(-z * z) * torch.special.erfcx(z + transfer * s)


def reference(plate: Perforated, robin: Mapping[str, float], points: np.ndarray, *, transfer: float = 1.0,
              diffusivity: float = 1.0, initial: float = 0.0, t_end: float = 3.0, h: float = REFERENCE_H,
              dt: float = REFERENCE_DT) -> dict[str, np.ndarray]:
    """``{"t": (T,), "u": (T, P)}``: the finite-element solution (:func:`pinn.pdes._fem.heat_robin`) at
    ``points`` ``(P, 2)``, every 0.1 from 0 to ``t_end``; cached in the user's cache directory under
    a hash of everything it depends on."""
    points = np.ascontiguousarray(points, dtype=np.float64)
    key = json.dumps({"lower": plate.lower.tolist(), "upper": plate.upper.tolist(), "holes": plate.holes,
                      "parts": plate.hole_parts, "robin": sorted(robin.items()), "transfer": transfer,
                      "diffusivity": diffusivity, "initial": initial, "t_end": t_end, "h": h, "dt": dt,
                      "scheme": "P2 BDF2, circles at h/4, v2"}, sort_keys=True).encode() + points.tobytes()
    path = cache_dir() / f"heat2d_cg_{hashlib.sha256(key).hexdigest()[:16]}.npz"

    def compute():
        from pinn.pdes._fem import heat_robin

        times, u = heat_robin(plate, robin, points, transfer=transfer, diffusivity=diffusivity, initial=initial,
                              h=h, dt=dt, t_end=t_end, every=0.1)
        return {"t": times, "u": u}

    return cached_arrays(path, compute)
