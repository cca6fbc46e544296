"""Typed (structured) configs: the schema every composed config is checked against.

A wrong type (``trainer.adam_steps=abc``) or an unknown key (``trainer.adam_stpes=5``)
fails when Hydra composes the config, before any run directory exists.  Value ranges
(``pde.nu > 0``, ``trainer.adam_steps >= 0``, ...) are checked by the library objects
themselves, which :func:`pinn.cli.build.build` constructs before training starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

__all__ = ["CONF_MODULE", "CONF_DIR", "CONF_PATH", "PinnConfig", "register_configs"]

#: The config tree: ``conf/`` in the repository, installed as the package ``pinn.conf``.
CONF_MODULE = "pinn.conf"
#: The same, as Hydra's search-path entry.
CONF_PATH = f"pkg://{CONF_MODULE}"
#: Its directory on disk (the repository's ``conf/`` under an editable install).
CONF_DIR = Path(str(resources.files(CONF_MODULE)))


@dataclass
class ModelConfig:
    width: int = 20
    depth: int = 8
    fourier_features: int = 0
    fourier_scale: Any = 1.0  # a float, or one per network input
    modified: bool = False
    hard_constraints: bool = False


@dataclass
class PointsConfig:
    interior: int = 5000
    initial: int = 256
    boundary: int = 256


@dataclass
class TrainerConfig:
    adam_steps: int = 500
    lbfgs_steps: int = 2000
    lr: float = 1e-3
    lr_decay: float = 1.0
    lbfgs_lr: float = 1.0
    lbfgs_history: int = 50
    lbfgs_chunk: int = 25
    log_every: int = 100
    max_failures: int = 3
    failure_lr_factor: float = 0.5
    lbfgs_float64: bool = False
    nan_at: list[int] = field(default_factory=list)
    adam_impl: str = "foreach"
    compile: bool = False
    balance_every: int = 0
    balance_alpha: float = 0.9
    quasi_newton: str = "lbfgs"
    weights: dict[str, float] = field(default_factory=dict)


@dataclass
class LossConfig:
    causal_chunks: int = 0
    causal_eps: float = 1.0


@dataclass
class RarConfig:
    every: int = 0
    lbfgs_every: int = 0
    candidates: int = 0
    k: float = 1.0
    c: float = 1.0


@dataclass
class DataConfig:
    path: Optional[str] = None
    samples: int = 0
    noise: float = 0.0


@dataclass
class CheckpointConfig:
    every: int = 500
    keep: int = 3


@dataclass
class EvaluationConfig:
    resolution: Optional[list[int]] = None  # None: 201 points along every coordinate
    chunk_size: int = 65536


@dataclass
class PinnConfig:
    pde: Any = MISSING
    model: ModelConfig = field(default_factory=ModelConfig)
    points: PointsConfig = field(default_factory=PointsConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    rar: RarConfig = field(default_factory=RarConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    data: DataConfig = field(default_factory=DataConfig)
    resume: Optional[str] = None
    seed: int = 0
    precision: str = "float32"
    activation: str = "tanh"
    sampler: str = "lhs"
    derivatives: str = "autograd"
    device: str = "cpu"
    plots: bool = True
    logger: str = "csv"
    logger_every: int = 500
    debug: bool = False


def register_configs() -> None:
    """Register the schema with Hydra's ConfigStore (idempotent)."""
    ConfigStore.instance().store(name="pinn_schema", node=PinnConfig)
