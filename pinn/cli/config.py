"""Typed (structured) configs: the schema every composed config is checked against.

A wrong type (``points.interior=abc``) or an unknown key (``points.interior_=5``) fails
when Hydra composes the config, before any run directory exists.  The config groups
(``pde``, ``model``, ``stages``, ...) are ``_target_`` nodes: their keys are the arguments
of their class, whose constructor checks names, types and ranges (``pde.nu > 0``,
``stages.adam.steps >= 0``, ...) when :func:`pinn.cli.build.build` constructs it, before
training starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

__all__ = ["CONF_MODULE", "CONF_DIR", "CONF_PATH", "PinnConfig", "register_configs", "user_config_dir",
           "with_user_search_path", "resolve_source"]

#: The config tree: ``conf/`` in the repository, installed as the package ``pinn.conf``.
CONF_MODULE = "pinn.conf"
#: The same, as Hydra's search-path entry.
CONF_PATH = f"pkg://{CONF_MODULE}"
#: Its directory on disk (the repository's ``conf/`` under an editable install).
CONF_DIR = Path(str(resources.files(CONF_MODULE)))


@dataclass
class PointsConfig:
    interior: int = 5000
    initial: int = 256
    boundary: int = 256


@dataclass
class TrainerConfig:
    max_failures: int = 3
    failure_lr_factor: float = 0.5
    nan_at: list[int] = field(default_factory=list)
    compile: bool = False
    compile_gradient: bool = False
    max_seconds: float | None = None


@dataclass
class LossConfig:
    weights: dict[str, float] = field(default_factory=dict)
    causal_chunks: int = 0
    causal_eps: float = 1.0
    slope_recovery: float = 0.0
    gradient_weight: float = 0.0
    point_clip: float = 0.0


@dataclass
class DataConfig:
    path: str | None = None
    samples: int = 0
    at: str | None = None
    noise: float = 0.0
    noise_std: float = 0.0
    field: str | None = None


@dataclass
class CheckpointConfig:
    every: int = 500
    keep: int = 3


@dataclass
class EvaluationConfig:
    resolution: list[int] | None = None  # None: 201 points along every coordinate
    chunk_size: int = 65536
    residual_maps: bool = True


@dataclass
class EnsembleConfig:
    members: int = 1


@dataclass
class PinnConfig:
    """The root config.  The groups (``pde``, ``model``, ...) are ``_target_`` nodes whose keys are
    their class's arguments: the class checks them when the builder constructs it."""

    pde: Any = MISSING
    geometry: Any = None
    model: Any = MISSING
    sampler: Any = MISSING
    derivatives: Any = MISSING
    stages: Any = MISSING
    weighting: Any = None
    resampler: Any = None
    marching: Any = None
    logger: Any = None
    points: PointsConfig = field(default_factory=PointsConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    data: DataConfig = field(default_factory=DataConfig)
    ensemble: EnsembleConfig = field(default_factory=lambda: EnsembleConfig())
    resume: str | None = None
    seed: int = 0
    precision: str = "float32"
    device: str = "cpu"
    threads: Any = "auto"
    hard_constraints: bool = False
    plots: bool = True
    debug: bool = False


def register_configs() -> None:
    """Register the schema with Hydra's ConfigStore (idempotent)."""
    ConfigStore.instance().store(name="pinn_schema", node=PinnConfig)


def user_config_dir(cwd: Path | None = None) -> Path | None:
    """``./conf`` of the working directory, if there is one and it is not pinn's own tree: the
    user's config groups (``conf/pde/kdv.yaml``, ...), searched after pinn's with no flag."""
    d = (Path.cwd() if cwd is None else Path(cwd)) / "conf"
    if d.is_dir() and d.resolve() != CONF_DIR.resolve():
        return d.resolve()
    return None


#: Hydra's flags that take a value as the next argument (``--cfg job``, ``--config-dir DIR``); ``--info``
#: takes one only when it is not an override.
VALUED_FLAGS = ("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn", "--cfg", "-c", "--package",
                "-p", "--experimental-rerun", "--info", "-i")


def with_overrides(argv: list[str], extra: list[str]) -> list[str]:
    """``argv`` with ``extra`` overrides added, arranged as Hydra's parser needs: every flag (with
    its value) first, then every override in one run (argparse takes the overrides once: ``a=1
    --cfg job b=2`` would leave ``b=2`` unrecognized)."""
    flags: list[str] = []
    overrides: list[str] = []
    expect_value = False
    for a in argv:
        if expect_value and not a.startswith("-") and ("=" not in a or flags[-1] not in ("--info", "-i")):
            flags.append(a)
            expect_value = False
            continue
        expect_value = False
        if a.startswith("-"):
            flags.append(a)
            expect_value = a in VALUED_FLAGS
        else:
            overrides.append(a)
    return [*flags, *overrides, *extra]


def with_user_search_path(overrides: list[str], cwd: Path | None = None) -> list[str]:
    """``overrides`` plus ``hydra.searchpath=['file://.../conf']`` for :func:`user_config_dir`,
    unless the overrides set ``hydra.searchpath`` themselves (then theirs is used as given); flags
    first (see :func:`with_overrides`)."""
    d = user_config_dir(cwd)
    if d is None or any(o.lstrip("+~").startswith("hydra.searchpath") for o in overrides):
        return with_overrides(list(overrides), [])
    quoted = str(d).replace("\\", "\\\\").replace("'", "\\'")
    return with_overrides(list(overrides), [f"hydra.searchpath=['file://{quoted}']"])


def search_dirs(searchpath) -> list[Path]:
    """The directories of a Hydra search path's ``file://`` entries, as given (in order)."""
    out = []
    for entry in searchpath or []:
        entry = str(entry)
        if entry.startswith("file://"):
            out.append(Path(entry[len("file://"):]))
    return out


def resolve_source(source: str, *, choice: str | None, searchpath) -> str:
    """``pde.source`` (or ``pde.reference``) resolved relative to the YAML file that names it
    (``DIR/pde/CHOICE.yaml`` for a directory ``DIR`` of the search path), as an absolute path; a
    relative path that is not beside that file but is under the working directory stays as it is
    (the older meaning)."""
    path = Path(source)
    if path.is_absolute() or not choice:
        return source
    beside = [d / "pde" / path for d in search_dirs(searchpath) if (d / "pde" / f"{choice}.yaml").is_file()]
    found = next((b for b in beside if b.is_file()), None)
    if found is not None:
        return str(found.resolve())
    if (Path.cwd() / path).is_file() or not beside:
        return source
    return str(beside[0])  # missing: the error names where it should be
