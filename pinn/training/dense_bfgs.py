"""Dense quasi-Newton optimizers: BFGS and self-scaled BFGS with a strong-Wolfe line search.

L-BFGS keeps the last ``history`` curvature pairs; these keep the whole inverse-Hessian
approximation ``H`` (``n x n`` for ``n`` parameters), so curvature learned early is never
forgotten.  On the small networks PINNs use (a few thousand parameters) that costs a few
MB and an ``n x n`` matrix-vector product per iteration, and in float64 it drives the loss
orders of magnitude below where L-BFGS levels off (Urban, Stefanou & Pons, "Unveiling the
optimization process of PINNs", 2024; Kiyani et al., "Which optimizer works best for
PINNs", 2025).

The update, with ``s = x+ - x``, ``y = g+ - g``, ``rho = 1 / y.s``:

    H+ = (1/tau) [H - rho (s (Hy)^T + (Hy) s^T) + rho^2 (y.Hy) s s^T] + rho s s^T

``tau = 1`` is BFGS.  Self-scaled BFGS (``"ssbfgs"``, Oren & Luenberger; Al-Baali 1998)
takes ``tau = min(1, y.s / s^T B s)`` with ``B = H^-1``; since the step is
``s = -t H g``, ``s^T B s = -t s.g`` needs no inverse.  Both satisfy the secant equation
``H+ y = s`` exactly.  The first update starts from ``H = (y.s / y.y) I``.
"""

from __future__ import annotations

import torch

try:  # torch's own strong-Wolfe line search (the one torch.optim.LBFGS uses); private, so guarded
    from torch.optim.lbfgs import _strong_wolfe
except ImportError:  # pragma: no cover - depends on the installed torch
    _strong_wolfe = None  # type: ignore[assignment]

__all__ = ["QUASI_NEWTON_METHODS", "METHOD_NAMES", "DenseQuasiNewton"]

#: The dense methods this module provides (``"lbfgs"`` is ``torch.optim.LBFGS``).
QUASI_NEWTON_METHODS = ("bfgs", "ssbfgs")

#: How logs and summaries name each second-stage method.
METHOD_NAMES = {"lbfgs": "L-BFGS", "bfgs": "BFGS", "ssbfgs": "self-scaled BFGS"}


class DenseQuasiNewton(torch.optim.Optimizer):
    """BFGS or self-scaled BFGS on a dense inverse Hessian, with a strong-Wolfe line search.

    A drop-in for ``torch.optim.LBFGS(..., line_search_fn="strong_wolfe")``: ``step(closure)``
    takes up to ``max_iter`` iterations (at most ``max_eval`` loss evaluations), and the
    iteration count lives in ``state[first_param]["n_iter"]``.

    Args:
        params: the parameters (one group).  ``H`` takes their dtype and device: use
            float64, where the method is at its best.
        method: ``"bfgs"`` or ``"ssbfgs"``.
        lr: the first trial step of each line search (1 for a quasi-Newton step).
        max_iter: iterations per :meth:`step`.
        max_eval: loss evaluations per :meth:`step` (default ``max_iter * 5 // 4``).
        tolerance_change: stop when the directional derivative is above ``-tolerance_change``.
    """

    def __init__(self, params, *, method: str = "bfgs", lr: float = 1.0, max_iter: int = 25,
                 max_eval: int | None = None, tolerance_change: float = 0.0):
        if _strong_wolfe is None:  # pragma: no cover
            raise ImportError(f"this torch ({torch.__version__}) has no torch.optim.lbfgs._strong_wolfe, which the "
                              "dense quasi-Newton methods use; install the pinned torch (constraints.txt) or set "
                              "stages.quasi_newton.method=lbfgs")
        if method not in QUASI_NEWTON_METHODS:
            raise ValueError(f"unknown quasi-Newton method {method!r}; choose one of: "
                             f"{', '.join(QUASI_NEWTON_METHODS)}")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        defaults = dict(method=method, lr=lr, max_iter=max_iter,
                        max_eval=max_eval if max_eval is not None else max_iter * 5 // 4,
                        tolerance_change=tolerance_change)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("DenseQuasiNewton takes one parameter group")
        self._params = self.param_groups[0]["params"]
        if len({(p.dtype, p.device) for p in self._params}) != 1:
            raise ValueError("DenseQuasiNewton needs every parameter in one dtype on one device")

    # -- flat views ----------------------------------------------------------------------

    def _flat_grad(self) -> torch.Tensor:
        return torch.cat([p.grad.reshape(-1) if p.grad is not None else torch.zeros_like(p).reshape(-1)
                          for p in self._params])

    def _add(self, t: float, d: torch.Tensor) -> None:
        offset = 0
        for p in self._params:
            n = p.numel()
            p.add_(d[offset:offset + n].view_as(p), alpha=t)
            offset += n

    def _set(self, xs) -> None:
        for p, x in zip(self._params, xs):
            p.copy_(x)

    def _evaluate_along(self, closure, x, t, d):
        self._add(t, d)
        loss = float(closure())
        g = self._flat_grad()
        self._set(x)
        return loss, g

    # -- the update ------------------------------------------------------------------------

    @staticmethod
    def update(H: torch.Tensor | None, s: torch.Tensor, y: torch.Tensor, sBs: float | None,
               method: str) -> torch.Tensor | None:
        """Return the updated inverse Hessian (``H`` changed in place when given).

        Args:
            H: ``(n, n)`` inverse-Hessian approximation, or ``None`` before the first update.
            s: ``(n,)`` step ``x+ - x``.
            y: ``(n,)`` gradient change ``g+ - g``.
            sBs: ``s^T H^-1 s`` (``-t s.g`` for the step ``s = -t H g``), for the self-scaling
                (``None``: no scaling, as after a steepest-descent step).
            method: ``"bfgs"`` or ``"ssbfgs"``.

        A pair with ``y.s <= 1e-10 |s| |y|`` (no positive curvature) leaves ``H`` unchanged.
        """
        ys = float(y.dot(s))
        if not ys > 1e-10 * float(s.norm()) * float(y.norm()):
            return H
        if H is None:
            H = torch.eye(s.numel(), dtype=s.dtype, device=s.device).mul_(ys / float(y.dot(y)))
            sBs = None  # the scaling compares with the previous H, which was not this one
        rho = 1.0 / ys
        Hy = H @ y
        yHy = float(y.dot(Hy))
        tau = 1.0
        if method == "ssbfgs" and sBs is not None and sBs > 0:
            tau = min(1.0, ys / sBs)
        a = rho * rho * yHy / tau + rho
        b = -rho / tau
        U = torch.stack([s, Hy], dim=1)
        W = torch.stack([a * s + b * Hy, b * s], dim=1)
        H.addmm_(U, W.T, beta=1.0 / tau)
        return H

    @torch.no_grad()
    def step(self, closure):
        """Take up to ``max_iter`` iterations; returns the loss at the start."""
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig = closure()
        loss = float(orig)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        H = state.get("H")
        for _ in range(group["max_iter"]):
            if H is None:
                d = g.neg()
                t = min(1.0, 1.0 / float(g.abs().sum())) * group["lr"] if state["n_iter"] == 0 else group["lr"]
            else:
                d = (H @ g).neg_()
                t = group["lr"]
            gtd = float(g.dot(d))
            if not gtd < -group["tolerance_change"]:
                if H is None:
                    break
                state["H"] = H = None  # lost descent (round-off): restart from steepest descent
                continue
            state["n_iter"] += 1
            x0 = [p.clone(memory_format=torch.contiguous_format) for p in self._params]
            new_loss, new_g, t, ls_evals = _strong_wolfe(
                lambda x, t_, d_: self._evaluate_along(closure, x, t_, d_), x0, t, d, loss, g, gtd,
                max_ls=max(group["max_eval"] - evals, 1))
            self._add(t, d)
            evals += ls_evals
            state["func_evals"] += ls_evals
            s = d.mul(t)
            sBs = -t * float(g.dot(s)) if H is not None else None
            state["H"] = H = self.update(H, s, new_g - g, sBs, group["method"])
            loss, g = new_loss, new_g
            if evals >= group["max_eval"]:
                break
        return orig
