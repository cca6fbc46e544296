"""Levenberg-Marquardt on the PINN loss, from per-sample gradients.

The PINN loss is a sum of squares, ``L = sum_t w_t mean(r_t^2) = |r|^2`` with the residual vector
``r = [sqrt(w_t / N_t) r_t(x_i)]`` over every term ``t`` and its points ``x_i``.  Its Jacobian
``J = dr/dtheta`` has one row per point: the parameter gradient of that point's residual, the
per-sample-gradient pattern of ``torch.func`` (``vmap(grad(residual_at_one_point))``, the same
rows as the NTK weights use: :func:`pinn.training.ntk.per_point_gradients`).  A step solves

    (J^T J + lambda I) delta = -J^T r

(through ``J J^T`` instead when there are fewer points than parameters: the same ``delta``),
with ``lambda`` adapted by the ratio of the actual to the predicted decrease (Nielsen's rule:
Madsen, Nielsen and Tingleff, *Methods for non-linear least squares problems*, 2004).  This is a
Gauss-Newton method damped towards gradient descent, as in the Gauss-Newton natural gradient for
PINNs (Jnini, Vella and Zeinhofer 2024) and the energy natural gradient of Mueller and Zeinhofer
(2023), meant for the small networks of PINN practice: dense linear algebra on the parameters'
dimension ``P`` (``P^2`` numbers; 87 MB in float64 for a 4x32 network).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch
from torch import nn

from pinn.training.ntk import per_point_gradients

__all__ = ["LevenbergMarquardt", "least_squares_terms", "move", "residual_jacobian", "residual_vector"]


def least_squares_terms(loss) -> list[tuple[str, str, float]]:
    """``[(term, point set, weight)]`` of the loss's terms of nonzero weight, in the loss's order
    (``"data"`` last, on the set ``data``)."""
    out = [(t.name, t.points, loss.weights[t.name]) for t in loss.terms if loss.weights[t.name] > 0]
    if loss.data and loss.weights["data"] > 0:
        out.append(("data", "data", loss.weights["data"]))
    return out


def residual_vector(loss, model: nn.Module, points: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``r`` with ``|r|^2`` equal to the loss's total: every term's residuals scaled by
    ``sqrt(weight / count)``, concatenated in :func:`least_squares_terms`' order.  ``(N,)``."""
    res = loss.residuals(model, points)
    if loss.data:
        out = model(points["data"])
        res["data"] = out.reshape(out.shape[0], -1)[:, loss.data_column] - points["data_values"]
    return torch.cat([math.sqrt(w / res[name].numel()) * res[name].reshape(-1)
                      for name, _, w in least_squares_terms(loss)])


def residual_jacobian(loss, model: nn.Module, points: Mapping[str, torch.Tensor], *,
                      chunk_size: int | None = 256) -> torch.Tensor:
    """``J = dr/dtheta``, ``(N, P)``: a row per point of :func:`residual_vector`, a column per
    trainable parameter entry in ``model.parameters()`` order."""
    names = [k for k, v in model.named_parameters() if v.requires_grad]
    blocks = []
    for name, which, w in least_squares_terms(loss):
        x = points[which]
        rows = per_point_gradients(model, loss, name, x, chunk_size=chunk_size)
        block = torch.cat([rows[k].reshape(x.shape[0], -1) for k in names], dim=1)
        blocks.append(math.sqrt(w / x.shape[0]) * block)
    return torch.cat(blocks)


class LevenbergMarquardt:
    """The damped Gauss-Newton step and its damping's state (see the module docs).

    Args:
        damping: the starting ``lambda``, relative to the largest diagonal entry of ``J^T J``
            (Nielsen's ``tau``; 1e-3 is the textbook choice, larger for a start far from the fit).
        min_damping: the floor of the relative ``lambda`` (keeps the solve's matrix positive definite).
    """

    def __init__(self, *, damping: float = 1e-3, min_damping: float = 1e-12):
        self.tau, self.floor = float(damping), float(min_damping)
        self.lam: float | None = None  # absolute; set from J at the first step
        self.nu = 2.0
        self.n_iter = 0
        self.rejected = 0  # trials rejected in a row

    def state_dict(self) -> dict:
        return {"lam": self.lam, "nu": self.nu, "n_iter": self.n_iter, "rejected": self.rejected}

    def load_state_dict(self, state: Mapping) -> None:
        self.lam, self.nu = state["lam"], float(state["nu"])
        self.n_iter, self.rejected = int(state["n_iter"]), int(state["rejected"])

    def step(self, r: torch.Tensor, jac: torch.Tensor, loss: float, params: list[torch.Tensor],
             evaluate: Callable[[], float], *, tries: int = 8) -> tuple[bool, float]:
        """Try steps from ``r`` ``(N,)`` and ``J`` ``(N, P)`` at the loss ``loss = |r|^2`` until one
        lowers it or ``tries`` are rejected.  A trial moves ``params`` (the columns of ``J``, in
        order) in place and calls ``evaluate()`` for the new loss (non-finite for a failure); a
        rejected trial puts the parameters back exactly.

        Returns:
            ``(accepted, loss after)``.
        """
        n, p = jac.shape
        gram = jac.T @ jac if n >= p else jac @ jac.T
        g = jac.T @ r
        scale = float(gram.diagonal().max()) if gram.numel() else 1.0
        if self.lam is None:
            self.lam = self.tau * max(scale, 1e-300)
        eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
        saved = [q.detach().clone() for q in params]
        for _ in range(tries):
            lam = max(self.lam, self.floor * scale)
            factor, info = torch.linalg.cholesky_ex(gram + lam * eye)
            if int(info) != 0:  # not positive definite at round-off: damp more
                self.lam, self.nu = lam * self.nu, self.nu * 2
                continue
            if n >= p:
                delta = -torch.cholesky_solve(g[:, None], factor)[:, 0]
            else:
                delta = -(jac.T @ torch.cholesky_solve(r[:, None], factor)[:, 0])
            jd = jac @ delta
            predicted = -(2 * float(r @ jd) + float(jd @ jd))  # |r|^2 - |r + J delta|^2
            move(params, delta)
            new = evaluate()
            actual = loss - new
            if math.isfinite(new) and predicted > 0 and actual > 0:
                rho = actual / predicted
                self.lam = lam * max(1 / 3, 1 - (2 * rho - 1) ** 3)
                self.nu, self.rejected = 2.0, 0
                self.n_iter += 1
                return True, new
            with torch.no_grad():
                for q, v in zip(params, saved):
                    q.copy_(v)
            self.lam, self.nu = lam * self.nu, self.nu * 2
            self.rejected += 1
        return False, loss


def move(params: list[torch.Tensor], delta: torch.Tensor) -> None:
    """``theta += delta`` for the flat ``delta`` over ``params``, in place."""
    with torch.no_grad():
        offset = 0
        for p in params:
            k = p.numel()
            p.add_(delta[offset:offset + k].view_as(p).to(p.dtype))
            offset += k
