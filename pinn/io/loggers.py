"""Training loggers beyond ``history.csv``: TensorBoard.

:class:`TensorBoardLogger` writes every history row (total loss, each loss term,
learned coefficients, the learning rate) as scalars, and, when given them, the
current rel. L2 error and a figure of the solution.  It needs the ``tensorboard``
package (``pip install -e '.[tensorboard]'``); without it, construction fails with
the command that installs it.
"""

from __future__ import annotations

from pathlib import Path

from pinn.core.checks import count

__all__ = ["TensorBoardLogger"]

_NOT_SCALARS = {"step", "stage", "seconds"}


class TensorBoardLogger:
    """Scalars and figures for TensorBoard, in ``log_dir``.

    Args:
        log_dir: the event-file directory (``tensorboard --logdir`` it).
        every: steps between evaluations of the rel. L2 error and solution figures during
            training (0: none); read by the run's monitor.
    """

    @staticmethod
    def check() -> None:
        """Raise a one-line ``ValueError`` if the tensorboard package is missing (nothing is written)."""
        try:
            import torch.utils.tensorboard  # noqa: F401
        except ImportError:  # torch raises ImportError when tensorboard is missing
            raise ValueError("the TensorBoard logger needs the tensorboard package: "
                             "pip install tensorboard (or pip install -e '.[tensorboard]')") from None

    def __init__(self, log_dir: str | Path, *, every: int = 500):
        count("every", every, hint="(0: no evaluation during training)")
        self.every = every
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # torch raises ImportError when tensorboard is missing
            raise ValueError("the TensorBoard logger needs the tensorboard package: "
                             "pip install tensorboard (or pip install -e '.[tensorboard]')") from None
        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    #: History columns that are learned coefficients (set by the run's monitor): ``coefficient/NAME``.
    coefficients: tuple[str, ...] = ()

    def row(self, row: dict) -> None:
        """Every numeric entry of a history row, at its step: ``loss/total``, ``loss/TERM``,
        ``train/lr``, ``coefficient/NAME`` for learned coefficients, ``weight/causal_min_weight``."""
        step = int(row["step"])
        for key, value in row.items():
            if key in _NOT_SCALARS or not isinstance(value, (int, float)):
                continue
            if key in self.coefficients:
                tag = f"coefficient/{key}"
            elif key == "causal_min_weight":
                tag = f"weight/{key}"
            else:
                tag = "loss/total" if key == "loss" else ("train/lr" if key == "lr" else f"loss/{key}")
            self.writer.add_scalar(tag, float(value), step)
        self.writer.add_scalar("train/seconds", float(row["seconds"]), step)

    def evaluation(self, step: int, metrics: dict, figure=None, *, residuals=None) -> None:
        """Error metrics (``error/rel_l2``, ...; ``residual/rms_EQ`` for the residual maps) and,
        optionally, matplotlib figures of the solution and of the ``|residual|`` maps (closed here)."""
        for key, value in metrics.items():
            tag = f"residual/{key[len('residual_'):]}" if key.startswith("residual_") else f"error/{key}"
            self.writer.add_scalar(tag, float(value), step)
        if figure is not None:
            self.writer.add_figure("solution", figure, step, close=True)
        if residuals is not None:
            self.writer.add_figure("residuals", residuals, step, close=True)

    def hparams(self, params: dict, metrics: dict) -> None:
        """The run's hyperparameters and final metrics for TensorBoard's HParams tab, so the runs of a
        sweep can be filtered and compared by them (numbers, strings and booleans only)."""
        plain = {k: v for k, v in params.items() if isinstance(v, (int, float, str, bool))}
        final = {f"hparam/{k}": float(v) for k, v in metrics.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)}
        self.writer.add_hparams(plain, final, run_name=".")

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
