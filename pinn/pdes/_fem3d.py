"""Finite elements for the reference of a steady reaction-diffusion problem in a box with balls cut out.

    -div(mu grad u) + kappa u = f    on the box minus the balls,    du/dn = 0 on every wall,

with ``mu``, ``kappa`` and ``f`` functions of the position: quadratic (P2) tetrahedra on a gmsh
mesh, assembled by scikit-fem, the symmetric positive definite system solved by conjugate
gradients with a Jacobi preconditioner (``kappa > 0`` keeps it well conditioned).  The mesh is cut
by the planes ``z = c`` given, so that a coefficient that jumps there jumps between elements,
never inside one; the quadrature evaluates ``mu``, ``kappa`` and ``f`` at its own points.

The tetrahedra are straight: each sphere is a polyhedron whose vertices lie on it, so the hole is
a little smaller than the ball (by ``h^2 / (8 r)``); the error shrinks with ``h``.  Solutions are
sampled at given points by locating each point's tetrahedron (:func:`p2_probe`); scikit-fem's own
``probes`` tests every point against every element.  gmsh and scikit-fem are the optional extra
``references`` (``pip install -e '.[references]'``): training never needs them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from pinn.pdes._fem import _mesh_arrays, _modules

__all__ = ["box_minus_balls_mesh", "p2_probe", "reaction_diffusion"]

Coefficient = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def box_minus_balls_mesh(lower: Sequence[float], upper: Sequence[float], balls: Sequence[Sequence[float]],
                         h: float, *, planes_z: Sequence[float] = ()) -> tuple[np.ndarray, np.ndarray]:
    """A tetrahedral mesh of the box ``[lower, upper]`` minus the balls ``[[cx, cy, cz, r], ...]``,
    conforming to the planes ``z = c`` in ``planes_z``, with edges of about ``h``:
    ``(points (3, N), tetrahedra (4, M))``, every tetrahedron positively oriented.  gmsh's state is
    the process's own: this initialises and finalises it, so it is not for threads."""
    gmsh, _ = _modules()
    if not (h > 0 and math.isfinite(h)):
        raise ValueError(f"the mesh size h must be a positive number, got {h!r}")
    lo, hi = [float(v) for v in lower], [float(v) for v in upper]
    if len(lo) != 3 or len(hi) != 3 or not all(a < b for a, b in zip(lo, hi)):
        raise ValueError(f"lower and upper must be 3 numbers each with lower < upper, got {lo} and {hi}")
    cuts = sorted(float(c) for c in planes_z)
    if not all(lo[2] < c < hi[2] for c in cuts):
        raise ValueError(f"planes_z must lie strictly inside the box's z range {lo[2]}-{hi[2]}, got {cuts}")
    for ball in balls:
        if len(ball) != 4 or not float(ball[3]) > 0:
            raise ValueError(f"each ball is [cx, cy, cz, r] with r > 0, got {list(ball)!r}")
    edges = [lo[2], *cuts, hi[2]]
    gmsh.initialize(readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.option.setNumber("General.NumThreads", 1)
        gmsh.model.add("box")
        occ = gmsh.model.occ
        slabs = [(3, occ.addBox(lo[0], lo[1], z0, hi[0] - lo[0], hi[1] - lo[1], z1 - z0))
                 for z0, z1 in zip(edges[:-1], edges[1:])]
        if balls:
            slabs, _ = occ.cut(slabs, [(3, occ.addSphere(*(float(v) for v in b))) for b in balls])
        if len(slabs) > 1:  # one mesh, shared faces on the planes
            occ.fragment(slabs[:1], slabs[1:])
        occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", h)
        gmsh.option.setNumber("Mesh.MeshSizeMin", h / 2)
        gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
        gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
        gmsh.option.setNumber("Mesh.RandomSeed", 1)
        gmsh.model.mesh.generate(3)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        _, nodes = gmsh.model.mesh.getElementsByType(4)  # 4-node tetrahedra
    finally:
        gmsh.finalize()
    points, tets = _mesh_arrays(tags, coords, nodes, dim=3, corners=4)
    a, b, c, d = (points[:, tets[i]] for i in range(4))
    negative = np.einsum("ij,ij->j", np.cross(b - a, c - a, axis=0), d - a) < 0
    tets[1, negative], tets[2, negative] = tets[2, negative], tets[1, negative].copy()
    return np.ascontiguousarray(points), np.ascontiguousarray(tets)


def p2_probe(mesh, basis, points: np.ndarray, *, candidates: int = 24):
    """The sparse ``(P, N)`` matrix that takes P2 values at the ``basis``'s dofs to the values at
    ``points`` ``(P, 3)``: each point's tetrahedron found among the ``candidates`` nearest by
    centroid (a k-d tree), then the quadratic Lagrange basis in its barycentric coordinates.
    ``ValueError`` where a point lies in no tetrahedron (outside the mesh)."""
    from scipy.sparse import csr_matrix
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be (P, 3), got {points.shape}")
    p, t = mesh.p, mesh.t
    corner = p[:, t[0]].T  # (M, 3)
    frame = np.stack([p[:, t[i]].T - corner for i in (1, 2, 3)], axis=2)  # (M, 3, 3): columns b-a, c-a, d-a
    inverse = np.linalg.inv(frame)
    tree = cKDTree(p[:, t].mean(axis=1).T)
    best = np.full(len(points), -np.inf)
    element = np.zeros(len(points), dtype=np.int64)
    lam = np.zeros((len(points), 4))
    todo, k = np.arange(len(points)), min(candidates, t.shape[1])
    while True:  # a point whose tetrahedron is not among its k nearest centroids tries 4k
        _, near = tree.query(points[todo], k=k)
        near = near.reshape(len(todo), k)
        for j in range(k):
            e = near[:, j]
            rest = np.einsum("pij,pj->pi", inverse[e], points[todo] - corner[e])
            cand = np.concatenate([1 - rest.sum(axis=1, keepdims=True), rest], axis=1)
            score = cand.min(axis=1)
            better = score > best[todo]
            idx = todo[better]
            best[idx], element[idx], lam[idx] = score[better], e[better], cand[better]
        todo = todo[best[todo] < -1e-9]
        if len(todo) == 0 or k == t.shape[1]:
            break
        k = min(4 * k, t.shape[1])
    if len(todo):
        raise ValueError(f"{len(todo)} points lie outside the mesh, e.g. {points[todo[:3]].tolist()}")
    dofs = basis.element_dofs[:, element]  # (10, P)
    # each local dof's place in barycentric coordinates: a vertex (one 1) or an edge's midpoint (two halves)
    verts = t[:, element]  # (4, P)
    doflocs = basis.doflocs[:, dofs]  # (3, 10, P)
    values = np.empty(dofs.shape)
    for d in range(dofs.shape[0]):
        loc = doflocs[:, d, :]  # (3, P)
        mu = np.stack([np.isclose(p[:, verts[i]], loc).all(axis=0) for i in range(4)])  # at vertex i?
        if mu.any(axis=0).all():
            i = mu.argmax(axis=0)
            li = lam[np.arange(len(points)), i]
            values[d] = li * (2 * li - 1)
            continue
        # an edge's midpoint: the two vertices whose mean it is
        pair = np.zeros((4, len(points)), dtype=bool)
        for i in range(4):
            for j in range(i + 1, 4):
                hit = np.isclose(0.5 * (p[:, verts[i]] + p[:, verts[j]]), loc).all(axis=0)
                pair[i] |= hit
                pair[j] |= hit
        if not (pair.sum(axis=0) == 2).all():
            raise ValueError("the basis is not P2 on tetrahedra: a dof lies at neither a vertex nor an edge's midpoint")
        values[d] = 4 * np.where(pair, lam.T, 1.0).prod(axis=0)
    rows = np.broadcast_to(np.arange(len(points)), dofs.shape)
    return csr_matrix((values.ravel(), (rows.ravel(), dofs.ravel())), shape=(len(points), basis.N))


def reaction_diffusion(lower: Sequence[float], upper: Sequence[float], balls: Sequence[Sequence[float]],
                       points: np.ndarray, *, mu: Coefficient, kappa: Coefficient, source: Coefficient,
                       h: float, planes_z: Sequence[float] = (), rtol: float = 1e-11) -> np.ndarray:
    """Solve the module's problem and sample it at ``points`` ``(P, 3)``.

    Args:
        lower, upper, balls, planes_z: the domain and the planes the mesh conforms to
            (:func:`box_minus_balls_mesh`); a coefficient may jump on those planes only.
        points: where to sample ``u``, inside the box and outside the balls.
        mu, kappa, source: ``(x, y, z) -> values``, numpy arrays of any one shape in, the same out;
            ``mu > 0``, ``kappa > 0``.
        h: the mesh size.
        rtol: conjugate gradients' tolerance on the residual, relative to the load's norm.

    Returns:
        ``u`` at ``points``, ``(P,)``.
    """
    _, skfem = _modules()
    from scipy.sparse import diags
    from scipy.sparse.linalg import cg
    from skfem.helpers import dot, grad

    p, t = box_minus_balls_mesh(lower, upper, balls, h, planes_z=planes_z)
    mesh = skfem.MeshTet(p, t)
    basis = skfem.Basis(mesh, skfem.ElementTetP2(), intorder=4)

    @skfem.BilinearForm
    def form(u, v, w):
        return mu(*w.x) * dot(grad(u), grad(v)) + kappa(*w.x) * u * v

    @skfem.LinearForm
    def load(v, w):
        return source(*w.x) * v

    matrix = form.assemble(basis).tocsr()
    rhs = load.assemble(basis)
    u, info = cg(matrix, rhs, rtol=rtol, atol=0.0, maxiter=50_000, M=diags(1.0 / matrix.diagonal()))
    if info != 0:
        raise RuntimeError(f"conjugate gradients did not converge ({info}); is kappa > 0 everywhere?")
    return p2_probe(mesh, basis, points) @ u
