"""Compose the config tree as ``pinn-train`` would, from Python: for tests, scripts and notebooks.

    from pinn.cli import job
    import pinn

    metrics = pinn.train(job("experiment=heat", "stages.quasi_newton.steps=500"), "runs/heat")
"""

from __future__ import annotations

from hydra import compose, initialize_config_module
from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from pinn.cli._errors import one_line
from pinn.cli.config import CONF_MODULE, register_configs, resolve_source, user_config_dir, with_user_search_path
from pinn.core.checks import positive_int
from pinn.training.job import Job

__all__ = ["compose_config", "compose_with_dirs", "job"]


def _missing_choice(e: MissingConfigException) -> str:
    group = (e.missing_cfg_file or "").split("/")[0] or "config"
    options = ", ".join(e.options or [])
    bad = (e.missing_cfg_file or "").split("/")[-1]
    mine = user_config_dir()
    looked = "pinn's configs" + (f" and {mine}" if mine else " (no ./conf here)")
    if options:
        return (f"unknown {group} {bad!r}; choose one of: {options} (e.g. {group}={(e.options or [''])[0]}); "
                f"looked in {looked}; your own goes in ./conf/{group}/{bad}.yaml beside where you run, "
                f"or in DIR/{group}/ with \"hydra.searchpath=[file://DIR]\"")
    return one_line(str(e).split("Config search path")[0])


def compose_config(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The root config composed with ``overrides`` (``["pde=heat", "model.width=32"]``).

    Raises:
        ValueError: with a one-line message naming the problem and the fix.
    """
    return _compose(overrides)[0]


def compose_with_dirs(overrides: list[str] | tuple[str, ...] = ()) -> tuple[DictConfig, tuple[bool, str, str]]:
    """The config, as :func:`compose_config`, and ``(multirun, run_dir, sweep_dir)`` as Hydra will
    set them for ``overrides``, with their interpolations (``${seed}``, ``${now:...}``) resolved now.

    Raises:
        ValueError: when the config does not compose, or a directory does not resolve.
    """
    return _compose(overrides)


def _compose(overrides) -> tuple[DictConfig, tuple[bool, str, str]]:
    register_configs()
    overrides = with_user_search_path(list(overrides))
    try:
        with initialize_config_module(config_module=CONF_MODULE, version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
            absolute_source(cfg, cfg.hydra.runtime.choices.get("pde"), cfg.hydra.searchpath)
            trials = OmegaConf.select(cfg, "hydra.sweeper.n_trials", default=None)
            if trials is not None:
                positive_int("hydra.sweeper.n_trials", trials)
            try:
                dirs = (str(cfg.hydra.mode) == "RunMode.MULTIRUN", str(cfg.hydra.run.dir), str(cfg.hydra.sweep.dir))
            except OmegaConfBaseException as e:
                raise ValueError(f"hydra.run.dir or hydra.sweep.dir does not resolve: {one_line(str(e))[:200]}; "
                                 f"use a plain path or interpolate config keys "
                                 f"(e.g. hydra.run.dir=runs/seed_${{seed}})") from None
            with open_dict(cfg):
                del cfg["hydra"]
            return cfg, dirs
    except MissingConfigException as e:
        raise ValueError(_missing_choice(e)) from None
    except (HydraException, OmegaConfBaseException) as e:
        text = str(e).split("Config search path")[0]
        cause = e.__cause__
        if cause is not None and str(cause) and str(cause) not in text:
            text += f" ({one_line(str(cause).split('full_key')[0])})"
        raise ValueError(one_line(text)) from None


def absolute_source(cfg: DictConfig, choice: str | None, searchpath) -> None:
    """Make a relative ``pde.source`` and ``pde.reference`` absolute when they sit beside the YAML
    file that names them (see :func:`pinn.cli.config.resolve_source`), in place: both paths of a
    user's PDE YAML mean the same thing."""
    pde = cfg.get("pde")
    if pde is None:
        return
    for key in ("source", "reference"):
        value = pde.get(key) if key in pde else None
        if isinstance(value, str) and value:
            with open_dict(cfg):
                pde[key] = resolve_source(value, choice=choice, searchpath=searchpath)


def job(*overrides: str) -> Job:
    """The :class:`~pinn.training.job.Job` that ``pinn-train OVERRIDES...`` would run, as plain objects."""
    from pinn.cli.build import build

    return build(compose_config(overrides))
