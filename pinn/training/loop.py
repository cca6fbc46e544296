"""The training loop: Adam, then a quasi-Newton stage (L-BFGS, BFGS or self-scaled BFGS) with a
strong-Wolfe line search.

The loop is resumable: everything it needs besides the model lives in a
:class:`TrainState` of plain values and tensors, which checkpoints save with the
model.  A run resumed from a checkpoint replays exactly the steps the
uninterrupted run would have taken, so on the CPU it ends bit-identical.

A non-finite loss or gradient rolls the run back to the last good state, lowers
the learning rate and carries on, up to ``max_failures`` times.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from pinn.training.compiling import GuardedCompile
from pinn.training.losses import PINNLoss
from pinn.training.quasi_newton import METHOD_NAMES, QUASI_NEWTON_METHODS, DenseQuasiNewton

__all__ = ["ADAM_IMPLS", "Trainer", "TrainResult", "TrainState", "TrainingInterrupted", "DivergenceError", "adam"]

log = logging.getLogger(__name__)


class TrainingInterrupted(Exception):
    """Training stopped on request (a signal); a checkpoint was offered first."""

    def __init__(self, step: int):
        super().__init__(f"training interrupted at step {step}")
        self.step = step


class DivergenceError(FloatingPointError):
    """The loss or gradient stayed non-finite after ``max_failures`` roll-backs."""


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"trainer.{name} must be an integer >= 0, got {value!r}")
    return value


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"trainer.{name} must be a positive integer, got {value!r}")
    return value


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"trainer.{name} must be a finite number > 0, got {value!r}")
    return float(value)


@dataclass
class TrainState:
    """Where training stands, in plain values and tensors (safe for ``weights_only`` loading).

    Attributes:
        stage: ``"adam"``, ``"lbfgs"`` or ``"done"``.
        adam_steps: Adam steps taken.
        lbfgs_steps: L-BFGS iterations taken.
        optimizer: the current stage's optimizer state dict (``None`` before it starts).
        scheduler: Adam's learning-rate scheduler state dict.
        failures: roll-backs after a non-finite loss so far.
        lbfgs_best: the lowest L-BFGS loss so far (for stall detection).
        lbfgs_stalled: L-BFGS chunks in a row that did not lower it.
        faults_fired: injected-fault steps already fired (see ``Trainer(nan_at=...)``).
        history: the history rows so far.
        seconds: training wall time so far, over all sessions.
        loss_weights: the loss weights set by gradient-norm balancing (``None``: never balanced).
    """

    stage: str = "adam"
    adam_steps: int = 0
    lbfgs_steps: int = 0
    optimizer: dict | None = None
    scheduler: dict | None = None
    failures: int = 0
    lbfgs_best: float = math.inf
    lbfgs_stalled: int = 0
    faults_fired: list[int] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    loss_weights: dict | None = None

    @property
    def step(self) -> int:
        """Steps taken over both stages."""
        return self.adam_steps + self.lbfgs_steps

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> "TrainState":
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"checkpoint has unknown trainer fields {unknown}; was it written by a newer pinn?")
        return cls(**dict(data))


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns.

    Attributes:
        history: one row per logged step: ``step``, ``stage``, ``loss``, each term, ``lr``
            (the stage's learning rate), ``seconds``.
        adam_steps: Adam steps taken.
        lbfgs_steps: L-BFGS iterations taken (fewer than asked if it stalled).
        final_loss: the loss of the returned parameters.
        seconds: wall time of training, over all sessions of a resumed run.
        optimizer_state: the state dict of the last optimizer used.
        failures: roll-backs after a non-finite loss.
    """

    history: list[dict]
    adam_steps: int
    lbfgs_steps: int
    final_loss: float
    seconds: float
    optimizer_state: dict
    failures: int = 0


Checkpoint = Callable[[dict], None]
#: Redraws collocation points: ``resampler(model, points) -> points``, with an ``every`` attribute.
Resampler = Callable[[nn.Module, Mapping[str, torch.Tensor]], dict]

#: Adam implementations, as keyword arguments of ``torch.optim.Adam``.
ADAM_IMPLS = {"foreach": {"foreach": True}, "fused": {"fused": True}, "for-loop": {"foreach": False}}


def adam(params, *, lr: float, impl: str = "foreach") -> torch.optim.Adam:
    """``torch.optim.Adam`` with the implementation ``impl`` (see :data:`ADAM_IMPLS`)."""
    if impl not in ADAM_IMPLS:
        raise ValueError(f"unknown Adam implementation {impl!r}; choose one of: {', '.join(ADAM_IMPLS)}")
    return torch.optim.Adam(params, lr=lr, **ADAM_IMPLS[impl])


class Trainer:
    """Adam for ``adam_steps``, then ``quasi_newton`` (strong Wolfe) for ``lbfgs_steps`` iterations.

    Args:
        adam_steps: number of Adam steps (>= 0).
        lbfgs_steps: number of L-BFGS iterations (>= 0).
        lr: Adam learning rate.
        lr_decay: Adam's learning rate is multiplied by this every 1000 steps.
        lbfgs_lr: L-BFGS step scale (1 with a line search).
        lbfgs_history: L-BFGS memory size.
        lbfgs_chunk: L-BFGS iterations per optimizer call; one history row each.  L-BFGS
            stops early after three chunks in a row that do not lower the loss.
        log_every: Adam steps between history rows (and in-memory roll-back points).
        max_failures: roll-backs allowed after a non-finite loss or gradient before
            training stops with :class:`DivergenceError`.
        failure_lr_factor: each roll-back multiplies the current stage's learning rate by this.
        lbfgs_float64: switch the model and the points to float64 for the L-BFGS stage
            (Adam runs in the model's own precision).
        nan_at: fault injection for tests: at each of these (global) steps, once, the
            loss is made NaN as if training had diverged there (in L-BFGS, at the first
            evaluation of the chunk of iterations that holds the step).
        adam_impl: ``"foreach"`` (one multi-tensor kernel per update; the default),
            ``"fused"`` (a single fused kernel) or ``"for-loop"`` (one kernel per tensor).
            The same arithmetic up to rounding; ``scripts/bench_step.py`` times them.
        compile: run the loss through ``torch.compile`` (guarded: a compile failure logs
            one line and trains eagerly).  Off by default: on the CPU it does not pay for
            its compile time (``docs/performance.md``).
        balance_every: with ``K > 0``, loss balancing by gradient norms (learning-rate
            annealing, Wang, Teng & Perdikaris 2021) in the Adam stage: every ``K`` steps
            each term's weight moves towards ``sum_j |grad L_j| / |grad L_i|`` (parameter
            gradients of the unweighted terms), by ``w <- alpha w + (1 - alpha) w_new``.
            The weights are part of the checkpointed state.
        balance_alpha: that moving-average factor, in ``[0, 1)``.
        quasi_newton: the method of the second stage (``lbfgs_steps`` iterations):
            ``"lbfgs"`` (``torch.optim.LBFGS``), or a dense inverse Hessian
            (:class:`pinn.training.quasi_newton.DenseQuasiNewton`): ``"bfgs"`` or ``"ssbfgs"``
            (self-scaled BFGS).  The dense methods hold ``n^2`` numbers for ``n``
            parameters (87 MB in float64 for a 4x32 network) and are at their best in
            float64; ``lbfgs_history`` does not apply to them.
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
        max_failures: int = 3,
        failure_lr_factor: float = 0.5,
        lbfgs_float64: bool = False,
        nan_at: Sequence[int] = (),
        adam_impl: str = "foreach",
        compile: bool = False,
        balance_every: int = 0,
        balance_alpha: float = 0.9,
        quasi_newton: str = "lbfgs",
    ):
        self.adam_steps = _count("adam_steps", adam_steps)
        self.lbfgs_steps = _count("lbfgs_steps", lbfgs_steps)
        self.lr = _positive("lr", lr)
        self.lr_decay = _positive("lr_decay", lr_decay)
        self.lbfgs_lr = _positive("lbfgs_lr", lbfgs_lr)
        self.lbfgs_history = _positive_int("lbfgs_history", lbfgs_history)
        self.lbfgs_chunk = _positive_int("lbfgs_chunk", lbfgs_chunk)
        self.log_every = _positive_int("log_every", log_every)
        self.max_failures = _count("max_failures", max_failures)
        self.failure_lr_factor = _positive("failure_lr_factor", failure_lr_factor)
        if self.failure_lr_factor >= 1:
            raise ValueError(f"trainer.failure_lr_factor must be < 1, got {failure_lr_factor}")
        if not isinstance(lbfgs_float64, bool):
            raise ValueError(f"trainer.lbfgs_float64 must be true or false, got {lbfgs_float64!r}")
        self.lbfgs_float64 = lbfgs_float64
        self.nan_at = tuple(_count("nan_at", s) for s in nan_at)
        if adam_impl not in ADAM_IMPLS:
            raise ValueError(f"unknown trainer.adam_impl {adam_impl!r}; choose one of: {', '.join(ADAM_IMPLS)}")
        self.adam_impl = adam_impl
        if not isinstance(compile, bool):
            raise ValueError(f"trainer.compile must be true or false, got {compile!r}")
        self.compile = compile
        self.balance_every = _count("balance_every", balance_every)
        if isinstance(balance_alpha, bool) or not isinstance(balance_alpha, (int, float)) or not 0 <= balance_alpha < 1:
            raise ValueError(f"trainer.balance_alpha must lie in [0, 1), got {balance_alpha!r}")
        self.balance_alpha = float(balance_alpha)
        methods = ("lbfgs", *QUASI_NEWTON_METHODS)
        if quasi_newton not in methods:
            raise ValueError(f"unknown trainer.quasi_newton {quasi_newton!r}; choose one of: {', '.join(methods)}")
        self.quasi_newton = quasi_newton

    # -- public ------------------------------------------------------------------------

    def fit(
        self,
        model: nn.Module,
        loss_fn: PINNLoss,
        points: Mapping[str, torch.Tensor],
        *,
        state: TrainState | None = None,
        callback: Callable[[dict], None] | None = None,
        checkpoint: Checkpoint | None = None,
        checkpoint_every: int = 0,
        should_stop: Callable[[], bool] | None = None,
        resampler: Resampler | None = None,
    ) -> TrainResult:
        """Train ``model`` in place on the collocation ``points``.

        Args:
            state: where to resume from (with ``model`` already holding the matching
                weights); ``None`` starts afresh.
            callback: called with each new history row.
            checkpoint: called with ``{"model": ..., "trainer": ..., "points": ...}`` snapshots
                to save (``points``: the current collocation points).
            checkpoint_every: offer a snapshot every this many steps (0: only at the
                switch to L-BFGS and on interruption).
            should_stop: polled after every step; when it returns true a snapshot is
                offered and :class:`TrainingInterrupted` is raised.
            resampler: redraws the points every ``resampler.every`` Adam steps (e.g.
                :class:`pinn.training.adaptive.RARD`), called as ``resampler(model, points)``, and,
                if it has a positive ``lbfgs_every``, at the first chunk boundary of the
                second stage at or past every multiple of it.  ``None``: the points stay fixed.
        """
        if self.compile:
            loss_fn = GuardedCompile(loss_fn, what="the loss")
        if resampler is not None:
            every = _count("resampler.every", resampler.every)
            if not (every or _count("resampler.lbfgs_every", getattr(resampler, "lbfgs_every", 0))):
                raise ValueError("the resampler redraws nowhere: give it every > 0 or lbfgs_every > 0")
        run = _Run(self, model, loss_fn, points, state or TrainState(), callback, checkpoint,
                   _count("checkpoint_every", checkpoint_every), should_stop or (lambda: False), resampler)
        return run.go()


class _Run:
    """One session of :meth:`Trainer.fit`; holds the loop's moving parts."""

    def __init__(self, trainer, model, loss_fn, points, state, callback, checkpoint, every, should_stop, resampler):
        self.t, self.model, self.loss_fn, self.points, self.s = trainer, model, loss_fn, dict(points), state
        self.resampler = resampler
        self.callback, self.checkpoint, self.every, self.should_stop = callback, checkpoint, every, should_stop
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.start = time.perf_counter() - state.seconds
        self.lr_now = trainer.lr
        self.base_weights = dict(getattr(loss_fn, "weights", {}))

    # -- helpers -----------------------------------------------------------------------

    def _loss(self, first: int, last: int | None = None):
        """The loss; NaN if an injected fault in steps ``first..last`` has not fired yet."""
        loss, parts = self.loss_fn(self.model, self.points)
        due = [s for s in self.t.nan_at if first <= s <= (last or first) and s not in self.s.faults_fired]
        if due:
            self.s.faults_fired.append(due[0])
            loss = loss * float("nan")
        return loss, parts

    def _record(self, stage: str, loss: torch.Tensor, parts: Mapping[str, torch.Tensor]) -> None:
        row = {"step": self.s.step, "stage": stage, "loss": float(loss)}
        row.update({name: float(v) for name, v in parts.items()})
        row["lr"] = self.lr_now
        row["seconds"] = time.perf_counter() - self.start
        self.s.history.append(row)
        if self.callback is not None:
            self.callback(row)

    def _snapshot(self) -> dict:
        self.s.seconds = time.perf_counter() - self.start
        return {"model": self.model.state_dict(), "trainer": self.s.to_dict(), "points": dict(self.points)}

    def _after_step(self, opt, sched=None, *, crossed: bool) -> None:
        """Offer a checkpoint when due, and stop when asked."""
        stop = self.should_stop()
        save = self.checkpoint is not None and (stop or (self.every and crossed))
        if not save and not stop:
            return
        self.s.optimizer = opt.state_dict()
        self.s.scheduler = sched.state_dict() if sched is not None else None
        if save:
            self.checkpoint(self._snapshot())
        if stop:
            raise TrainingInterrupted(self.s.step)

    def _crossed(self, before: int) -> bool:
        return bool(self.every) and self.s.step // self.every > before // self.every

    def _fail(self, where: str) -> None:
        self.s.failures += 1
        if self.s.failures > self.t.max_failures:
            raise DivergenceError(
                f"the loss or gradient became non-finite {self.s.failures} times (last {where}); "
                f"lower trainer.lr (now {self.t.lr}), raise trainer.max_failures or use precision=float64"
            )
        log.warning("non-finite loss or gradient %s; rolled back to the last good state and lowered the learning "
                    "rate by %g (failure %d of at most %d)", where, self.t.failure_lr_factor, self.s.failures,
                    self.t.max_failures)

    def _finite_grads(self) -> bool:
        return all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in self.params)

    # -- the stages --------------------------------------------------------------------

    def go(self) -> TrainResult:
        if self.s.loss_weights is not None:  # resumed after balancing: continue with those weights
            self.loss_fn.weights.update(self.s.loss_weights)
        if self.s.stage == "adam":
            if self.s.adam_steps < self.t.adam_steps:
                self._adam()
            self.s.stage, self.s.optimizer, self.s.scheduler = "lbfgs", None, None
            if self.checkpoint is not None and self.t.adam_steps and self.t.lbfgs_steps:
                self.checkpoint(self._snapshot())  # right after the switch
        last_opt = None
        if self.s.stage != "adam" and self.t.lbfgs_float64:
            self.model.double()  # in place: the parameter objects stay the same
            self.points = {k: v.double() for k, v in self.points.items()}
        if self.s.stage == "lbfgs":
            last_opt = self._lbfgs() if self.t.lbfgs_steps else None
            self.s.stage = "done"
        final, _ = self.loss_fn(self.model, self.points)
        self.s.seconds = time.perf_counter() - self.start
        return TrainResult(
            history=self.s.history,
            adam_steps=self.s.adam_steps,
            lbfgs_steps=self.s.lbfgs_steps,
            final_loss=float(final.detach()),
            seconds=self.s.seconds,
            optimizer_state=last_opt or self.s.optimizer or {},
            failures=self.s.failures,
        )

    def _adam(self) -> None:
        opt = adam(self.params, lr=self.t.lr, impl=self.t.adam_impl)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=self.t.lr_decay ** (1 / 1000))
        if self.s.optimizer is not None:
            opt.load_state_dict(self.s.optimizer)
            sched.load_state_dict(self.s.scheduler)
        good = self._good(opt, sched)
        while self.s.adam_steps < self.t.adam_steps:
            before = self.s.step
            opt.zero_grad(set_to_none=True)
            loss, parts = self._loss(self.s.adam_steps + 1)
            if self.t.balance_every and self.s.adam_steps % self.t.balance_every == 0 and torch.isfinite(loss):
                self._balance(parts)
            if torch.isfinite(loss):
                loss.backward()
            if not torch.isfinite(loss) or not self._finite_grads():
                self._restore(good, opt, sched)
                for group in opt.param_groups:
                    group["lr"] *= self.t.failure_lr_factor
                self._fail(f"at Adam step {before + 1}")
                good = self._good(opt, sched)
                continue
            opt.step()
            sched.step()
            self.lr_now = opt.param_groups[0]["lr"]
            self.s.adam_steps += 1
            if self.s.adam_steps % self.t.log_every == 0 or self.s.adam_steps == self.t.adam_steps:
                self._record("adam", loss.detach(), {k: v.detach() for k, v in parts.items()})
                good = self._good(opt, sched)
            if (self.resampler is not None and self.resampler.every and self.s.adam_steps % self.resampler.every == 0
                    and self.s.adam_steps < self.t.adam_steps):
                self.points = self.resampler(self.model, self.points)
            self._after_step(opt, sched, crossed=self._crossed(before))
        self.s.optimizer, self.s.scheduler = opt.state_dict(), sched.state_dict()

    def _balance(self, parts) -> None:
        """Move the loss weights towards the inverse gradient-norm ratios (see ``balance_every``)."""
        names = [n for n in self.loss_fn.term_names if self.loss_fn.weights[n] > 0]
        norms = {}
        for n in names:
            grads = torch.autograd.grad(parts[n], self.params, retain_graph=True, allow_unused=True)
            norms[n] = math.sqrt(sum(float((g * g).sum()) for g in grads if g is not None))
        total = sum(norms.values())
        if not math.isfinite(total) or any(v == 0 for v in norms.values()):
            return  # a term with no gradient (or a non-finite one) keeps its weight
        a = self.t.balance_alpha
        for n in names:
            self.loss_fn.weights[n] = a * self.loss_fn.weights[n] + (1 - a) * total / norms[n]
        self.s.loss_weights = {n: self.loss_fn.weights[n] for n in names}

    def _good(self, opt, sched=None) -> dict:
        return {
            "model": copy.deepcopy(self.model.state_dict()),
            "optimizer": copy.deepcopy(opt.state_dict()),
            "scheduler": copy.deepcopy(sched.state_dict()) if sched is not None else None,
            "state": {k: copy.deepcopy(getattr(self.s, k)) for k in ("adam_steps", "lbfgs_steps", "lbfgs_best",
                                                                     "lbfgs_stalled", "history", "loss_weights")},
        }

    def _restore(self, good: dict, opt, sched=None) -> None:
        with torch.no_grad():
            self.model.load_state_dict(good["model"])
        opt.load_state_dict(copy.deepcopy(good["optimizer"]))
        if sched is not None:
            sched.load_state_dict(good["scheduler"])
        for k, v in good["state"].items():
            setattr(self.s, k, copy.deepcopy(v))
        if self.base_weights:
            self.loss_fn.weights.update(self.s.loss_weights or self.base_weights)

    def _lbfgs(self) -> dict:
        t = self.t
        if t.quasi_newton == "lbfgs":
            opt = torch.optim.LBFGS(self.params, lr=t.lbfgs_lr, max_iter=t.lbfgs_chunk, history_size=t.lbfgs_history,
                                    line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)
        else:
            opt = DenseQuasiNewton(self.params, method=t.quasi_newton, lr=t.lbfgs_lr, max_iter=t.lbfgs_chunk)
        if self.s.optimizer is not None:
            opt.load_state_dict(self.s.optimizer)
        bad = {"hit": False}

        def closure():
            opt.zero_grad(set_to_none=True)
            loss, _ = self._loss(self.s.step + 1, self.s.step + opt.param_groups[0]["max_iter"])
            if not torch.isfinite(loss):
                bad["hit"] = True
                return loss.detach()
            loss.backward()
            if not self._finite_grads():
                bad["hit"] = True
            return loss

        while self.s.stage == "lbfgs" and self.s.lbfgs_steps < t.lbfgs_steps:
            before = self.s.step
            good = self._good(opt)
            chunk = min(t.lbfgs_chunk, t.lbfgs_steps - self.s.lbfgs_steps)
            opt.param_groups[0]["max_iter"] = chunk
            opt.param_groups[0]["max_eval"] = chunk * 5 // 4
            n_before = opt.state[self.params[0]].get("n_iter", 0)
            bad["hit"] = False
            self.lr_now = opt.param_groups[0]["lr"]
            opt.step(closure)
            taken = opt.state[self.params[0]].get("n_iter", 0) - n_before
            # The closure's last call may have been a rejected line-search trial: evaluate
            # the accepted parameters once more so the history is exact (about 2% extra).
            loss, parts = self.loss_fn(self.model, self.points)
            loss = loss.detach()
            finite_params = all(bool(torch.isfinite(p).all()) for p in self.params)
            if bad["hit"] or not torch.isfinite(loss) or not finite_params:
                self._restore(good, opt)
                opt.param_groups[0]["lr"] *= t.failure_lr_factor
                self._fail(f"in L-BFGS after iteration {self.s.lbfgs_steps}")
                continue
            self.s.lbfgs_steps += taken
            self._record("lbfgs", loss, {k: v.detach() for k, v in parts.items()})
            # A chunk that ends without lowering the best loss means the line search is
            # stuck at round-off; three in a row end the stage instead of burning evaluations.
            self.s.lbfgs_stalled = self.s.lbfgs_stalled + 1 if float(loss) >= self.s.lbfgs_best else 0
            self.s.lbfgs_best = min(self.s.lbfgs_best, float(loss))
            if taken == 0 or self.s.lbfgs_stalled >= 3:
                log.info("%s stalled at loss %.3e after %d iterations; stopping (precision=float64 may go "
                         "further)", METHOD_NAMES[t.quasi_newton], self.s.lbfgs_best, self.s.lbfgs_steps)
                self.s.stage = "done"  # a resumed run must not start L-BFGS again
            every = getattr(self.resampler, "lbfgs_every", 0) if self.resampler is not None else 0
            if (every and self.s.stage == "lbfgs" and self.s.lbfgs_steps < t.lbfgs_steps
                    and (self.s.lbfgs_steps - taken) // every != self.s.lbfgs_steps // every):
                self.points = self.resampler(self.model, self.points)
                # a new point set: its losses are not comparable with the last set's
                self.s.lbfgs_best, self.s.lbfgs_stalled = math.inf, 0
            self._after_step(opt, crossed=self._crossed(before))
        self.s.optimizer = opt.state_dict()
        return self.s.optimizer
