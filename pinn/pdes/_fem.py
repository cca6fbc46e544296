"""Finite elements for the references of heat problems on perforated plates.

``u_t = k (u_xx + u_yy)`` on a :class:`~pinn.geometry.Perforated` plate, ``du/dn = h (g_part - u)``
on each boundary part, ``u = u0`` at ``t = 0``: quadratic (P2) triangles on a gmsh mesh, assembled
by scikit-fem, BDF2 in time (one backward Euler step first).  The weak form is
``M u' + (k K + k h R) u = k h b``: ``K`` the stiffness, ``R`` the boundary mass and ``b`` the
boundary load of the Robin parts.

The mesh's triangles are straight: each circle is a polygon (its vertices on the circle) of sides
``h / refine``, so the hole is a little smaller than the disk; that error shrinks with ``h``.
Each step solves its symmetric positive definite system by conjugate gradients with a Jacobi
preconditioner (a sparse LU of the P2 system needed 20 GB at 460,000 unknowns).  gmsh and
scikit-fem are the optional extra ``references`` (``pip install -e '.[references]'``): training
never needs them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from pinn.geometry.shapes import Perforated

__all__ = ["perforated_mesh", "heat_robin"]


def steps_per(every: float, dt: float) -> int:
    """The whole number of steps ``dt`` in ``every``; ``ValueError`` where there is none."""
    per = round(every / dt)
    if per < 1 or not math.isclose(per * dt, every):
        raise ValueError(f"the time step dt = {dt} must divide the snapshots' spacing {every}, "
                         f"e.g. dt = {every / 20:g}")
    return per


def _modules():
    try:
        import gmsh
        import skfem
    except ImportError as err:  # pragma: no cover - both are in the dev and references extras
        raise ImportError("the finite-element reference needs gmsh and scikit-fem: pip install -e '.[references]'"
                          ) from err
    return gmsh, skfem


def _is_circle(plate: Perforated, box) -> bool:
    """Whether a curve with bounding box ``box`` (gmsh's six numbers) is one of the plate's circles."""
    x0, y0, _, x1, y1, _ = box
    return any(abs(x0 - (cx - r)) < 1e-6 and abs(x1 - (cx + r)) < 1e-6 and abs(y0 - (cy - r)) < 1e-6
               and abs(y1 - (cy + r)) < 1e-6 for cx, cy, r in plate.holes)


def perforated_mesh(plate: Perforated, h: float, *, refine: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """A triangle mesh of ``plate`` with sides about ``h``, ``h / refine`` on the circles (their
    polygons' error, and the boundary layer of the first instants, shrink with them), growing
    back to ``h`` over a unit distance: ``(points (2, N), triangles (3, M))``, counter-clockwise.
    gmsh's state is the process's own: this initialises and finalises it, so it is not for threads."""
    gmsh, _ = _modules()
    if not (h > 0 and math.isfinite(h)):
        raise ValueError(f"the mesh size h must be a positive number, got {h!r}")
    if not (refine >= 1 and math.isfinite(refine)):
        raise ValueError(f"refine (h over the sides on the circles) must be a number >= 1, got {refine!r}")
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
        gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
        gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
        circles = [tag for dim, tag in gmsh.model.getEntities(1)
                   if _is_circle(plate, gmsh.model.getBoundingBox(dim, tag))]
        if circles:  # sides of h / refine on the circles, growing to h over a unit distance
            field = gmsh.model.mesh.field
            distance = field.add("Distance")
            field.setNumbers(distance, "CurvesList", circles)
            field.setNumber(distance, "Sampling", 400)
            threshold = field.add("Threshold")
            field.setNumber(threshold, "InField", distance)
            field.setNumber(threshold, "SizeMin", h / refine)
            field.setNumber(threshold, "SizeMax", h)
            field.setNumber(threshold, "DistMin", 0.0)
            field.setNumber(threshold, "DistMax", 1.0)
            field.setAsBackgroundMesh(threshold)
        gmsh.option.setNumber("Mesh.Algorithm", 6)  # Frontal-Delaunay
        gmsh.option.setNumber("Mesh.RandomSeed", 1)
        gmsh.model.mesh.generate(2)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        _, nodes = gmsh.model.mesh.getElementsByType(2)  # 3-node triangles
    finally:
        gmsh.finalize()
    points, triangles = _mesh_arrays(tags, coords, nodes, dim=2, corners=3)
    a, b, c = (points[:, triangles[i]] for i in range(3))
    clockwise = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]) < 0
    triangles[1:, clockwise] = triangles[:0:-1, clockwise]
    return np.ascontiguousarray(points), np.ascontiguousarray(triangles)


def _mesh_arrays(tags, coords, nodes, *, dim: int, corners: int) -> tuple[np.ndarray, np.ndarray]:
    """gmsh's node tags, coordinates and element node tags as ``(points (dim, N), cells (corners, M))``,
    numbered from 0, without the nodes no cell uses (a surface's own, in a volume mesh)."""
    index = np.full(int(tags.max()) + 1, -1)
    index[tags.astype(int)] = np.arange(len(tags))
    points = coords.reshape(-1, 3)[:, :dim].T.astype(np.float64)
    cells = index[nodes.astype(int)].reshape(-1, corners).T
    used = np.unique(cells)
    if len(used) != points.shape[1]:
        renumber = np.full(points.shape[1], -1)
        renumber[used] = np.arange(len(used))
        points, cells = points[:, used], renumber[cells]
    return points, cells


def _probes(basis, points: np.ndarray, *, chunk: int = 128):
    """``basis.probes`` at ``points`` ``(P, 2)``, a chunk of points at a time: scikit-fem finds
    each point's triangle with arrays of points x triangles (1.7 GB for 5,756 points on 11,000)."""
    from scipy.sparse import vstack

    return vstack([basis.probes(points[i:i + chunk].T) for i in range(0, len(points), chunk)]).tocsr()


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
               diffusivity: float = 1.0, initial: float = 0.0, h: float = 0.1, refine: float = 4.0,
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
        h, refine: the mesh (:func:`perforated_mesh`).
        dt: the time step; ``every`` must be a whole multiple of it.
        t_end, every: the snapshots' span and spacing, from ``t = 0``.

    Returns:
        ``(times (T,), u (T, P))``.
    """
    _, skfem = _modules()
    from scipy.sparse import diags
    from scipy.sparse.linalg import cg
    from skfem.helpers import dot, grad

    if set(robin) != set(plate.parts):
        raise ValueError(f"robin must give a value for each boundary part {list(plate.parts)}, got {sorted(robin)}")
    per = steps_per(every, dt)
    steps = round(t_end / every)
    p, t = perforated_mesh(plate, h, refine=refine)
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
    probe = _probes(basis, np.asarray(points, dtype=np.float64))
    u_prev = np.full(basis.N, float(initial))
    snapshots = [probe @ u_prev]

    def solver(matrix):
        matrix = matrix.tocsr()
        jacobi = diags(1.0 / matrix.diagonal())

        def solve(rhs, guess):
            x, info = cg(matrix, rhs, x0=guess, rtol=1e-10, atol=0.0, maxiter=5000, M=jacobi)
            if info != 0:
                raise RuntimeError(f"conjugate gradients did not converge ({info}); take a smaller dt")
            return x
        return solve

    u = solver(m + dt * a)(m @ u_prev + dt * load, u_prev)  # step 1: backward Euler
    bdf2 = solver(1.5 * m + dt * a)
    for step in range(1, steps * per + 1):
        if step > 1:
            u_prev, u = u, bdf2(m @ (2 * u - 0.5 * u_prev) + dt * load, 2 * u - u_prev)
        if step % per == 0:
            snapshots.append(probe @ u)
    return np.linspace(0.0, steps * every, steps + 1), np.stack(snapshots)
