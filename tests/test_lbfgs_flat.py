"""L-BFGS on flat buffers (issue 30): the compact-form direction is the two-loop recursion's, the
optimizer takes torch.optim.LBFGS's iterates, and a direction costs a handful of operations
whatever the history's length."""

import copy

import pytest
import torch
from torch.overrides import TorchFunctionMode

from pinn.training.lbfgs import LBFGS, compact_direction


def _pairs(n=120, m=15, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(m, n, generator=g, dtype=torch.float64)
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    y = s @ (a @ a.T / n + torch.eye(n, dtype=torch.float64))  # curvature pairs of a convex quadratic
    return s, y, torch.randn(n, generator=g, dtype=torch.float64)


def _two_loop(s, y, gamma, grad):
    """torch.optim.LBFGS's recursion, written out."""
    m = s.shape[0]
    rho = [1 / float(y[i] @ s[i]) for i in range(m)]
    q, alpha = grad.neg(), [0.0] * m
    for i in range(m - 1, -1, -1):
        alpha[i] = float(s[i] @ q) * rho[i]
        q = q - alpha[i] * y[i]
    r = q * gamma
    for i in range(m):
        r = r + (alpha[i] - float(y[i] @ r) * rho[i]) * s[i]
    return r


@pytest.mark.parametrize("m", [1, 2, 15])
def test_the_compact_direction_is_the_two_loop_recursions(m):
    s, y, grad = _pairs(m=m)
    gamma = float(s[-1] @ y[-1] / (y[-1] @ y[-1]))
    expected = _two_loop(s, y, gamma, grad)
    torch.testing.assert_close(compact_direction(torch.stack([s, y]), gamma, grad), expected, rtol=1e-12, atol=1e-12)
    assert torch.equal(compact_direction(torch.empty(2, 0, 120, dtype=torch.float64), 1.0, grad), -grad)


class _Count(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


def test_a_direction_costs_the_same_few_operations_for_any_history():
    counts = []
    for m in (5, 50):
        s, y, grad = _pairs(n=300, m=m)
        with _Count() as c:
            compact_direction(torch.stack([s, y]), 0.5, grad)
        counts.append(c.calls)
    assert counts[0] == counts[1] <= 40, counts  # the two-loop recursion takes 4 m (200 at m = 50)


def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2 + ((x[2:] - 1) ** 2 * torch.arange(1, 5)).sum()


def _run(cls, iters, state=None):
    x = torch.nn.Parameter(torch.tensor([-1.2, 1.0, 0.3, -0.5, 2.0, 0.0], dtype=torch.float64))
    opt = cls([x], lr=1.0, max_iter=iters, history_size=4, line_search_fn="strong_wolfe",
              tolerance_grad=0.0, tolerance_change=0.0)
    if state is not None:
        x.data.copy_(state[0])
        opt.load_state_dict(state[1])

    def closure():
        opt.zero_grad()
        f = _rosenbrock(x)
        f.backward()
        return f

    opt.step(closure)
    return x.detach().clone(), opt.state_dict()


def test_it_takes_torchs_iterates_and_continues_from_torchs_state():
    ours, _ = _run(LBFGS, 12)
    theirs, _ = _run(torch.optim.LBFGS, 12)
    torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-9)
    # torch's state (old_dirs, old_stps lists) loads and the run goes on as torch's would
    x_mid, state = _run(torch.optim.LBFGS, 6)
    resumed, _ = _run(LBFGS, 6, state=(x_mid, copy.deepcopy(state)))  # optimizers update their state in place
    torch_resumed, _ = _run(torch.optim.LBFGS, 6, state=(x_mid, copy.deepcopy(state)))
    torch.testing.assert_close(resumed, torch_resumed, rtol=1e-9, atol=1e-9)
    assert not torch.allclose(resumed, x_mid)
    assert float(_rosenbrock(_run(LBFGS, 200)[0])) < 1e-11  # and it converges (from 24.2; torch: 9.5e-13)
