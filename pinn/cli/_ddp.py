"""Set up ``torch.distributed`` when ``pinn-train`` runs under ``torchrun``.

``torchrun --nproc_per_node=N -m pinn.cli.train ARGS`` starts N copies of the CLI.
Each joins the process group (gloo on the CPU; NCCL as well when CUDA is there).
Rank 0 picks the run directory and tells the others, so all ranks agree on it. Only
rank 0 writes: the other ranks keep Hydra from writing its ``.hydra/`` record and log
file, and log warnings and errors only.
"""

from __future__ import annotations

import logging
import os
import time

import torch
import torch.distributed as dist

__all__ = ["launched", "setup", "teardown"]


def launched() -> bool:
    """True when this process was started by ``torchrun`` (torch.distributed.elastic)."""
    return dist.is_available() and dist.is_torchelastic_launched()


def setup(argv: list[str]) -> list[str]:
    """Join the process group and return ``argv`` with the overrides every rank needs.

    Raises:
        ValueError: for a ``-m`` sweep, which does not run data-parallel.
    """
    if any(a in ("-m", "--multirun") for a in argv):
        raise ValueError("a -m sweep cannot run under torchrun; start one torchrun per run, or sweep with "
                         "pinn-train -m (a Hydra launcher runs the jobs)")
    backend = "gloo"
    if torch.cuda.is_available() and dist.is_nccl_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        backend = "cpu:gloo,cuda:nccl"
    dist.init_process_group(backend=backend)
    rank = dist.get_rank()
    argv = list(argv)
    if any(a.startswith("resume=") for a in argv):
        return argv  # the run directory is given; resume runs without Hydra's launcher
    if not any(a.startswith("hydra.run.dir=") for a in argv):
        from pinn.io.files import claim_new_dir

        chosen = [claim_new_dir(time.strftime("runs/%Y-%m-%d/%H-%M-%S")) if rank == 0 else None]
        dist.broadcast_object_list(chosen, src=0)
        argv.append(f"hydra.run.dir={chosen[0]}")
    if rank:
        argv += ["hydra.output_subdir=null", "hydra/job_logging=none", "hydra/hydra_logging=none"]
        logging.getLogger().setLevel(logging.WARNING)
    return argv


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
