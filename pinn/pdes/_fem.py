"""Finite elements for the references of heat problems on perforated plates.

``u_t = k (u_xx + u_yy)`` on a :class:`~pinn.geometry.Perforated` plate, ``du/dn = h (g_part - u)``
on each boundary part, ``u = u0`` at ``t = 0``: quadratic (P2) triangles on a gmsh mesh, assembled
by scikit-fem, BDF2 in time (one backward Euler step first) with one sparse LU per scheme.  The
weak form is ``M u' + (k K + k h R) u = k h b``: ``K`` the stiffness, ``R`` the boundary mass and
``b`` the boundary load of the Robin parts.

The mesh's triangles are straight: each circle is a polygon of ``segments`` sides (its vertices on
the circle), so the hole is a little smaller than the disk, by a relative ``(pi/segments)^2 / 2``
of its area.  gmsh and scikit-fem are the optional extra ``references`` (``pip install -e
'.[references]'``): training never needs them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from pinn.geometry.shapes import Perforated

__all__ = ["perforated_mesh", "heat_robin"]


def _modules():
    try:
        import gmsh
        import skfem
    except ImportError as err:  # pragma: no cover - both are in the dev and references extras
        raise ImportError("the finite-element reference needs gmsh and scikit-fem: pip install -e '.[references]'"
                          ) from err
    return gmsh, skfem


def perforated_mesh(plate: Perforated, h: float, *, segments: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A triangle mesh of ``plate`` with sides about ``h``, and at most ``2 pi r / segments`` on a
    circle of radius ``r``: ``(points (2, N), triangles (3, M))``, the triangles counter-clockwise.
    gmsh's state is the process's own: this initialises and finalises it, so it is not for threads."""
    gmsh, _ = _modules()
    if not (h > 0 and math.isfinite(h)):
        raise ValueError(f"the mesh size h must be a positive number, got {h!r}")
    lo, hi = (plate.lower.tolist(), plate.upper.tolist())
    gmsh.initialize(readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.option.setNumber("General.NumThreads", 1)
        gmsh.model.add("plate")
        occ = gmsh.model.occ
        rect = occ.addRectangle(lo[0], lo[1], 0.0, hi[0] - lo[0], hi[1] - lo[1])
        disks = [occ.addDisk(cx, cy, 0.0, r, r) for cx, cy, r in plate.holes]
        if disks:
            occ.cut([(2, rect)], [(2, d) for d in disks])
        occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", h)
        gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", segments)
        gmsh.option.setNumber("Mesh.Algorithm", 6)  # Frontal-Delaunay
        gmsh.option.setNumber("Mesh.RandomSeed", 1)
        gmsh.model.mesh.generate(2)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        _, nodes = gmsh.model.mesh.getElementsByType(2)  # 3-node triangles
    finally:
        gmsh.finalize()
    index = np.full(int(tags.max()) + 1, -1)
    index[tags.astype(int)] = np.arange(len(tags))
    points = coords.reshape(-1, 3)[:, :2].T.astype(np.float64)
    triangles = index[nodes.astype(int)].reshape(-1, 3).T
    a, b, c = (points[:, triangles[i]] for i in range(3))
    clockwise = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]) < 0
    triangles[1:, clockwise] = triangles[:0:-1, clockwise]
    used = np.unique(triangles)
    if len(used) != points.shape[1]:  # nodes no triangle uses (none expected): drop them
        renumber = np.full(points.shape[1], -1)
        renumber[used] = np.arange(len(used))
        points, triangles = points[:, used], renumber[triangles]
    return np.ascontiguousarray(points), np.ascontiguousarray(triangles)


def _facet_parts(plate: Perforated, midpoints: np.ndarray) -> np.ndarray:
    """The boundary part of each boundary facet, by its midpoint ``(2, F)``: the nearest circle's
    where it lies within a tenth of that circle's radius of it, ``outer`` elsewhere."""
    names = np.array(["outer", *plate.hole_parts], dtype=object)
    which = np.zeros(midpoints.shape[1], dtype=int)
    for i, (cx, cy, r) in enumerate(plate.holes):
        near = np.abs(np.hypot(midpoints[0] - cx, midpoints[1] - cy) - r) < 0.1 * r
        which[near] = i + 1
    return names[which]


def heat_robin(plate: Perforated, robin: Mapping[str, float], points: np.ndarray, *, transfer: float = 1.0,
               diffusivity: float = 1.0, initial: float = 0.0, h: float = 0.1, segments: int = 64,
               dt: float = 0.005, t_end: float = 3.0, every: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Solve the heat problem of the module's docs and sample it at ``points``.

    Args:
        plate: the domain.
        robin: ``{part: g}`` for every boundary part of ``plate`` (``outer`` and the holes' parts).
        points: ``(P, 2)`` points of the plate (on the true circles too: the mesh's polygonal holes
            lie inside the disks).
        transfer: ``h`` of ``du/dn = h (g - u)``.
        diffusivity: ``k``.
        initial: ``u0``, a constant.
        h, segments: the mesh (:func:`perforated_mesh`).
        dt: the time step; ``every`` must be a whole multiple of it.
        t_end, every: the snapshots' span and spacing, from ``t = 0``.

    Returns:
        ``(times (T,), u (T, P))``.
    """
    _, skfem = _modules()
    from scipy.sparse.linalg import splu
    from skfem.helpers import dot, grad

    missing = sorted(set(plate.parts) - set(robin))
    if missing or set(robin) - set(plate.parts):
        raise ValueError(f"robin must give a value for each boundary part {list(plate.parts)}, got {sorted(robin)}")
    per = round(every / dt)
    if per < 1 or not math.isclose(per * dt, every):
        raise ValueError(f"every = {every} must be a whole multiple of dt = {dt}")
    steps = round(t_end / every)
    p, t = perforated_mesh(plate, h, segments=segments)
    mesh = skfem.MeshTri(p, t)
    element = skfem.ElementTriP2()
    basis = skfem.Basis(mesh, element)
    stiffness = skfem.BilinearForm(lambda u, v, w: dot(grad(u), grad(v)))
    mass = skfem.BilinearForm(lambda u, v, w: u * v)
    boundary = mesh.boundary_facets()
    parts = _facet_parts(plate, mesh.p[:, mesh.facets[:, boundary]].mean(axis=1))
    m = skfem.asm(mass, basis)
    a = diffusivity * skfem.asm(stiffness, basis)
    load = np.zeros(basis.N)
    for part, g in robin.items():
        facets = boundary[parts == part]
        if len(facets) == 0:
            continue
        fb = skfem.FacetBasis(mesh, element, facets=facets)
        a = a + diffusivity * transfer * skfem.asm(mass, fb)
        load = load + diffusivity * transfer * float(g) * skfem.asm(skfem.LinearForm(lambda v, w: v), fb)
    probe = basis.probes(np.asarray(points, dtype=np.float64).T)
    u_prev = np.full(basis.N, float(initial))
    snapshots = [probe @ u_prev]
    u = splu((m + dt * a).tocsc()).solve(m @ u_prev + dt * load)  # step 1: backward Euler
    bdf2 = splu((1.5 * m + dt * a).tocsc())
    for step in range(1, steps * per + 1):
        if step > 1:
            u_prev, u = u, bdf2.solve(m @ (2 * u - 0.5 * u_prev) + dt * load)
        if step % per == 0:
            snapshots.append(probe @ u)
    return np.linspace(0.0, steps * every, steps + 1), np.stack(snapshots)
