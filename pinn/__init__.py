"""pinn: physics-informed neural networks on PyTorch.

The names a user needs are re-exported here; everything else stays importable from its
own module (``pinn.diff.autograd``, ``pinn.training.dense_bfgs``, ...).
"""

from pinn._version import __version__
from pinn._startup import starting as _starting

with _starting():  # Ctrl-C while torch loads: one line from the command-line tools, see pinn._startup
    from pinn.training.resampling import RARD
    from pinn.nets.activations import get_activation
    from pinn.physics.constraints import HardConstraint
    from pinn.physics.domains import Domain
    from pinn.diff.engines import get_engine
    from pinn.training.ensemble import Ensemble, train_ensemble
    from pinn.evaluation.grid import evaluate, evaluate_grid, max_abs_error, predict, relative_l2
    from pinn.training.losses import PINNLoss
    from pinn.nets.mlp import MLP
    from pinn.physics.observations import Observations, load_observations, sample_observations
    from pinn.pdes import PDE, AllenCahn, Burgers, Heat, Heat2D, Kovasznay, Poisson, Schrodinger, Wave
    from pinn.physics.sampling import get_sampler
    from pinn.physics.shape_domain import ShapeDomain
    from pinn.physics.terms import Term
    from pinn.training.job import Job
    from pinn.training.loop import Trainer, TrainResult
    from pinn.training.options import RunOptions
    from pinn.training.run import train
    from pinn.training.stages import Adam, QuasiNewton
    from pinn.training.weighting import GradNorm

__all__ = [
    "__version__",
    "PDE", "AllenCahn", "Burgers", "Heat", "Heat2D", "Kovasznay", "Poisson", "Schrodinger", "Wave",
    "Domain", "ShapeDomain", "Term",
    "MLP", "HardConstraint", "get_activation", "get_engine", "get_sampler",
    "train", "RunOptions", "Job", "Trainer", "TrainResult", "Adam", "QuasiNewton", "GradNorm", "PINNLoss", "RARD",
    "Ensemble", "train_ensemble",
    "Observations", "load_observations", "sample_observations",
    "evaluate", "evaluate_grid", "predict", "relative_l2", "max_abs_error",
]
