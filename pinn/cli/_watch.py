"""What watches a training run: progress and TensorBoard (:class:`Monitor`), and signals (:class:`StopFlag`)."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from pinn.evaluation.grid import evaluate
from pinn.io.plotting import residual_figure, solution_figure
from pinn.evaluation.residual_maps import evaluation_maps, residual_metrics
from pinn.io.progress import make_progress
from pinn.cli.targets import instantiate_checked

__all__ = ["Monitor", "StopFlag"]

log = logging.getLogger("pinn")


class Monitor:
    """The training callback of a run: progress, and TensorBoard with periodic evaluations."""

    def __init__(self, cfg: DictConfig, b, run_dir: Path, *, quiet: bool = False):
        self.progress = None if quiet else make_progress(b.total_steps, b.trainer.log_every, logger=log)
        plain = OmegaConf.to_container(cfg.logger, resolve=True) if cfg.logger is not None else {}
        node = plain if isinstance(plain, dict) else {}
        self.tb = None
        if node and not quiet:
            self.tb = instantiate_checked(node, object, key="logger", trusted=True,
                                          context={"log_dir": run_dir / "tensorboard"})
        if self.tb is not None and hasattr(self.tb, "coefficients"):  # filed apart from the losses
            self.tb.coefficients = tuple(getattr(b.model, "coefficients", {}))
        self.every, self.b, self._last = getattr(self.tb, "every", 0), b, 0

    def tick(self, step: int) -> None:
        """Every step: move the progress bar (log lines ignore it)."""
        if self.progress is not None and hasattr(self.progress, "tick"):
            self.progress.tick(step)

    def __call__(self, row: dict) -> None:
        if self.progress is not None:
            self.progress(row)
        if self.tb is None:
            return
        self.tb.row(row)
        if self.every and row["step"] // self.every > self._last // self.every:
            self._last = row["step"]
            metrics, figure, ev = self._evaluate()
            residuals = None
            if self.b.residual_maps and len(ev.grid) >= 2:  # |residual| maps beside the solution
                maps = evaluation_maps(ev, self.b.model, self.b.loss.pde, self.b.loss.engine)
                metrics = {**metrics, **residual_metrics(maps)}
                residuals = residual_figure(ev.grid, maps, layout=ev.layout, inside=self.b.pde.domain.inside)
            self.tb.evaluation(row["step"], metrics, figure, residuals=residuals)

    def _evaluate(self):
        """The run's own evaluation (:func:`pinn.evaluation.grid.evaluate`: a table's nodes, or the grid
        with a shape's outside masked), so that TensorBoard's error is the one metrics.json gives."""
        ev = evaluate(self.b.model, self.b.pde, self.b.resolution, chunk_size=self.b.chunk_size)
        figure = (solution_figure(ev.grid, *ev.compared(), fields=ev.fields, layout=ev.layout,
                                   inside=self.b.pde.domain.inside)
                  if len(ev.grid) >= 2 else None)
        return ev.metrics, figure, ev

    def finish(self, cfg: DictConfig, metrics: dict) -> None:
        """Give a logger that records hyperparameters (TensorBoard's HParams) the run's flattened
        config and its final metrics."""
        if self.tb is not None and hasattr(self.tb, "hparams"):
            self.tb.hparams(_flatten(OmegaConf.to_container(cfg, resolve=True)), metrics)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
        if self.tb is not None:
            self.tb.close()


def _flatten(node, prefix: str = "") -> dict:
    """``{"model.width": 20, ...}``: a nested config as dotted keys (lists as their string)."""
    out = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value) if isinstance(value, (list, tuple)) or value is None else value
    return out


class StopFlag:
    """Turns SIGTERM and SIGINT into a polite stop request for the training loop."""

    def __init__(self):
        self.signal: int | None = None
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum, frame):
        self.signal = signum

    def __call__(self) -> bool:
        return self.signal is not None

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
