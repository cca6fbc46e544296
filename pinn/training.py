"""The training loop: Adam, then L-BFGS with a strong-Wolfe line search."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from .losses import PINNLoss

__all__ = ["Trainer", "TrainResult"]

log = logging.getLogger(__name__)


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"trainer.{name} must be an integer >= 0, got {value!r}")
    return value


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"trainer.{name} must be a finite number > 0, got {value!r}")
    return float(value)


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns.

    Attributes:
        history: one row per logged step: ``step``, ``stage``, ``loss``, each term, ``seconds``.
        adam_steps: Adam steps taken.
        lbfgs_steps: L-BFGS iterations taken (fewer than asked if it converged or stalled).
        final_loss: the loss of the returned parameters.
        seconds: wall time of training.
        optimizer_state: the state dict of the last optimizer used.
    """

    history: list[dict] = field(default_factory=list)
    adam_steps: int = 0
    lbfgs_steps: int = 0
    final_loss: float = math.nan
    seconds: float = 0.0
    optimizer_state: dict = field(default_factory=dict)


class Trainer:
    """Adam for ``adam_steps``, then L-BFGS (strong Wolfe) for ``lbfgs_steps`` iterations.

    Args:
        adam_steps: number of Adam steps (>= 0).
        lbfgs_steps: number of L-BFGS iterations (>= 0).
        lr: Adam learning rate.
        lr_decay: Adam's learning rate is multiplied by this every 1000 steps.
        lbfgs_lr: L-BFGS step scale (1 with a line search).
        lbfgs_history: L-BFGS memory size.
        lbfgs_chunk: L-BFGS iterations per optimizer call; one history row each.  L-BFGS
            stops early after three chunks in a row that do not lower the loss.
        log_every: Adam steps between history rows and log lines.
    """

    def __init__(
        self,
        *,
        adam_steps: int = 1000,
        lbfgs_steps: int = 2000,
        lr: float = 1e-3,
        lr_decay: float = 1.0,
        lbfgs_lr: float = 1.0,
        lbfgs_history: int = 50,
        lbfgs_chunk: int = 25,
        log_every: int = 100,
    ):
        self.adam_steps = _count("adam_steps", adam_steps)
        self.lbfgs_steps = _count("lbfgs_steps", lbfgs_steps)
        self.lr = _positive("lr", lr)
        self.lr_decay = _positive("lr_decay", lr_decay)
        self.lbfgs_lr = _positive("lbfgs_lr", lbfgs_lr)
        self.lbfgs_history = max(1, _count("lbfgs_history", lbfgs_history))
        self.lbfgs_chunk = max(1, _count("lbfgs_chunk", lbfgs_chunk))
        self.log_every = max(1, _count("log_every", log_every))

    def fit(
        self,
        model: nn.Module,
        loss_fn: PINNLoss,
        points: Mapping[str, torch.Tensor],
        *,
        callback: Callable[[dict], None] | None = None,
    ) -> TrainResult:
        """Train ``model`` in place on fixed collocation ``points`` and return the record."""
        result = TrainResult()
        start = time.perf_counter()
        params = [p for p in model.parameters() if p.requires_grad]

        def record(step: int, stage: str, loss: torch.Tensor, parts: Mapping[str, torch.Tensor]) -> None:
            row = {"step": step, "stage": stage, "loss": float(loss)}
            row.update({name: float(v) for name, v in parts.items()})
            row["seconds"] = time.perf_counter() - start
            result.history.append(row)
            if callback is not None:
                callback(row)

        if self.adam_steps:
            opt = torch.optim.Adam(params, lr=self.lr)
            gamma = self.lr_decay ** (1 / 1000)
            sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)
            for step in range(1, self.adam_steps + 1):
                opt.zero_grad(set_to_none=True)
                loss, parts = loss_fn(model, points)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"the loss became {float(loss.detach())} at Adam step {step}; lower trainer.lr "
                        f"(now {self.lr}) or switch to precision=float64"
                    )
                loss.backward()
                opt.step()
                sched.step()
                result.adam_steps = step
                if step % self.log_every == 0 or step == self.adam_steps:
                    record(step, "adam", loss.detach(), {k: v.detach() for k, v in parts.items()})
            result.optimizer_state = opt.state_dict()

        if self.lbfgs_steps:
            self._lbfgs(model, loss_fn, points, params, result, record)

        final, _ = loss_fn(model, points)
        result.final_loss = float(final.detach())
        result.seconds = time.perf_counter() - start
        return result

    def _lbfgs(self, model, loss_fn, points, params, result, record) -> None:
        opt = torch.optim.LBFGS(
            params,
            lr=self.lbfgs_lr,
            max_iter=self.lbfgs_chunk,
            history_size=self.lbfgs_history,
            line_search_fn="strong_wolfe",
            tolerance_grad=0.0,
            tolerance_change=0.0,
        )
        def closure():
            opt.zero_grad(set_to_none=True)
            loss, _ = loss_fn(model, points)
            loss.backward()
            return loss

        good = [p.detach().clone() for p in params]
        done, best, stalled = 0, math.inf, 0
        while done < self.lbfgs_steps:
            chunk = min(self.lbfgs_chunk, self.lbfgs_steps - done)
            opt.param_groups[0]["max_iter"] = chunk
            opt.param_groups[0]["max_eval"] = chunk * 5 // 4
            before = opt.state[params[0]].get("n_iter", 0)
            opt.step(closure)
            taken = opt.state[params[0]].get("n_iter", 0) - before
            # The closure's last call may have been a rejected line-search trial: evaluate
            # the accepted parameters once more so the history is exact (about 2% extra).
            loss, parts = loss_fn(model, points)
            loss = loss.detach()
            if not torch.isfinite(loss) or any(not torch.isfinite(p).all() for p in params):
                with torch.no_grad():
                    for p, g in zip(params, good):
                        p.copy_(g)
                log.warning("L-BFGS reached a non-finite loss after %d iterations; kept the last finite parameters", done)
                break
            done += taken
            result.lbfgs_steps = done
            record(result.adam_steps + done, "lbfgs", loss, {k: v.detach() for k, v in parts.items()})
            good = [p.detach().clone() for p in params]
            # A chunk that ends without lowering the best loss means the line search is
            # stuck at round-off; three in a row end the stage instead of burning evaluations.
            stalled = stalled + 1 if float(loss) >= best else 0
            best = min(best, float(loss))
            if taken == 0 or stalled >= 3:
                log.info("L-BFGS stalled at loss %.3e after %d iterations; stopping (precision=float64 may go further)", best, done)
                break
        result.optimizer_state = opt.state_dict()
