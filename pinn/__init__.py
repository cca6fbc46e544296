"""pinn: physics-informed neural networks on PyTorch.

The names a user needs are re-exported here; everything else stays importable from its
own module (``pinn.derivatives``, ``pinn.quasi_newton``, ...).
"""

__version__ = "0.2.0"

from .adaptive import RARD
from .activations import get_activation
from .constraints import HardConstraint
from .domains import Domain
from .engines import get_engine
from .ensemble import train_ensemble
from .evaluation import evaluate_grid, max_abs_error, predict, relative_l2
from .losses import PINNLoss
from .nn import MLP
from .observations import Observations, load_observations, sample_observations
from .pdes import PDE, AllenCahn, Burgers, Heat, Heat2D, Poisson, Wave
from .sampling import get_sampler
from .terms import Term
from .training import Trainer, TrainResult

__all__ = [
    "__version__",
    "PDE", "AllenCahn", "Burgers", "Heat", "Heat2D", "Poisson", "Wave", "Domain", "Term",
    "MLP", "HardConstraint", "get_activation", "get_engine", "get_sampler",
    "PINNLoss", "Trainer", "TrainResult", "RARD", "train_ensemble",
    "Observations", "load_observations", "sample_observations",
    "evaluate_grid", "predict", "relative_l2", "max_abs_error",
]
