"""The command-line and config layer: the only part of ``pinn`` that imports Hydra.

:func:`job` composes the config tree as ``pinn-train`` would and returns the run's objects
(a :class:`pinn.Job`), for notebooks and scripts: ``pinn.train(job("experiment=heat"), "runs/heat")``.
"""

from pinn.cli.compose import compose_config, job

__all__ = ["compose_config", "job"]
