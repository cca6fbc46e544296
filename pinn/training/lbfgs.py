"""L-BFGS on flat buffers: the direction from the compact representation in a handful of fused
operations, not thousands of small ones.

``torch.optim.LBFGS`` forms its direction with the two-loop recursion, ``4 m`` dot products and
vector updates per iteration for a history of ``m`` pairs, and moves the parameters one tensor at
a time: in a run of 2,000 iterations with ``m = 50`` that is hundreds of thousands of kernel
launches (docs/performance.md).  Here the history is one ``(2, m, n)`` buffer of the steps ``S``
and gradient changes ``Y``, and the direction is the compact form of Byrd, Nocedal and Schnabel
(1994, Theorem 2.2) with ``H_0 = gamma I``:

    H g = gamma g + S u - gamma Y p,   R p = S^T g,   R^T u = (D + gamma Y^T Y) p - gamma Y^T g,

with ``R`` the upper triangle of ``S^T Y`` and ``D`` its diagonal: two products of the history
with a vector, two ``m x m`` products and two triangular solves, equal in exact arithmetic to
the two-loop recursion.  The line search is torch's strong-Wolfe search, and everything else
(stopping rules, evaluation counts, the step-size guess) is ``torch.optim.LBFGS``'s, so the two
take the same iterates up to round-off.
"""

from __future__ import annotations

import torch

try:  # torch's own strong-Wolfe line search on flat vectors (torch.optim.LBFGS's); private, so guarded
    from torch.optim.lbfgs import _strong_wolfe
except ImportError:  # pragma: no cover - depends on the installed torch
    _strong_wolfe = None  # type: ignore[assignment]

__all__ = ["LBFGS", "compact_direction"]


def compact_direction(history: torch.Tensor, gamma: float, grad: torch.Tensor) -> torch.Tensor:
    """``-H g``: the L-BFGS direction for the flat gradient ``grad`` ``(n,)`` from ``history``
    ``(2, k, n)`` (the steps ``S``, then the gradient changes ``Y``, oldest first) and the initial
    scale ``gamma`` (see the module docs)."""
    s, y = history[0], history[1]
    k = s.shape[0]
    if k == 0:
        return grad.neg()
    ab = history.reshape(2 * k, -1) @ grad  # S^T g, Y^T g in one product
    a, b = ab[:k], ab[k:]
    sy = s @ y.T
    r = torch.triu(sy)
    p = torch.linalg.solve_triangular(r, a[:, None], upper=True)[:, 0]
    rhs = (torch.diag_embed(torch.diagonal(sy)) + gamma * (y @ y.T)) @ p - gamma * b
    u = torch.linalg.solve_triangular(r.T, rhs[:, None], upper=False)[:, 0]
    hg = gamma * grad + history.reshape(2 * k, -1).T @ torch.cat([u, -gamma * p])
    return hg.neg()


class LBFGS(torch.optim.Optimizer):
    """``torch.optim.LBFGS`` with its history on flat buffers and its direction in compact form.

    Arguments and behaviour as ``torch.optim.LBFGS`` (one parameter group; ``line_search_fn`` is
    ``"strong_wolfe"`` or ``None``).  Its state holds ``history`` ``(2, k, n)``, ``gamma``,
    ``d``, ``t``, ``prev_flat_grad``, ``prev_loss``, ``n_iter`` and ``func_evals`` on the first
    parameter; a state dict of ``torch.optim.LBFGS`` (``old_dirs``, ``old_stps``) loads too.
    """

    def __init__(self, params, lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"line_search_fn must be 'strong_wolfe' or None, got {line_search_fn!r}")
        if line_search_fn and _strong_wolfe is None:  # pragma: no cover - depends on the installed torch
            raise ValueError("this torch has no torch.optim.lbfgs._strong_wolfe; pin torch as constraints.txt does")
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval if max_eval is not None else max_iter * 5 // 4,
                    "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                    "history_size": history_size, "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS takes one parameter group")
        self._params = self.param_groups[0]["params"]

    # -- flat views ---------------------------------------------------------------------------

    def _flat_grad(self) -> torch.Tensor:
        return torch.cat([p.grad.reshape(-1) if p.grad is not None else torch.zeros_like(p).reshape(-1)
                          for p in self._params])

    def _add(self, t: float, d: torch.Tensor) -> None:
        views = [v.view_as(p) for v, p in zip(torch.split(d, [p.numel() for p in self._params]), self._params)]
        torch._foreach_add_(self._params, views, alpha=t)

    def _set(self, values: list[torch.Tensor]) -> None:
        torch._foreach_copy_(self._params, values)

    def _directional_evaluate(self, closure, x, t, d):
        self._add(t, d)
        loss = float(closure())
        flat_grad = self._flat_grad()
        self._set(x)
        return loss, flat_grad

    def load_state_dict(self, state_dict) -> None:
        super().load_state_dict(state_dict)
        state = self.state[self._params[0]]
        if "old_dirs" in state:  # torch.optim.LBFGS's lists: the same history, stacked (the caller's dict untouched)
            dirs, stps = state["old_dirs"], state["old_stps"]
            n = sum(p.numel() for p in self._params)
            ref = self._params[0]
            history = (torch.stack([torch.stack(stps), torch.stack(dirs)]) if dirs else
                       torch.empty(2, 0, n, dtype=ref.dtype, device=ref.device))
            kept = {k: v for k, v in state.items() if k not in ("old_dirs", "old_stps", "ro", "al", "H_diag")}
            self.state[self._params[0]] = {**kept, "history": history, "gamma": float(state.get("H_diag", 1.0))}

    # -- the step -----------------------------------------------------------------------------

    @torch.no_grad()
    def step(self, closure):
        """Up to ``max_iter`` iterations; ``closure`` re-evaluates the loss and sets the gradients."""
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if flat_grad.abs().max() <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        history, gamma = state.get("history"), state.get("gamma", 1.0)
        if history is None:
            history = flat_grad.new_empty(2, 0, flat_grad.numel())
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = flat_grad.neg()
                history = flat_grad.new_empty(2, 0, flat_grad.numel())
                gamma = 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    keep = history[:, 1:] if history.shape[1] == group["history_size"] else history
                    history = torch.cat([keep, torch.stack([s, y])[:, None]], dim=1)
                    gamma = ys / float(y @ y)
                d = compact_direction(history, gamma, flat_grad)
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.clone(memory_format=torch.contiguous_format)
            else:
                prev_flat_grad.copy_(flat_grad)
            prev_loss = loss

            t = min(1.0, 1.0 / float(flat_grad.abs().sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                x_init = [p.clone(memory_format=torch.contiguous_format) for p in self._params]

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd,
                                                                  max_ls=max_eval - current_evals)
                self._add(t, d)
                opt_cond = flat_grad.abs().max() <= tolerance_grad
            else:
                self._add(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    with torch.enable_grad():
                        loss = float(closure())
                    flat_grad = self._flat_grad()
                    opt_cond = flat_grad.abs().max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if float((d * t).abs().max()) <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

        state.update({"d": d, "t": t, "history": history, "gamma": gamma, "prev_flat_grad": prev_flat_grad,
                      "prev_loss": prev_loss})
        return orig_loss
