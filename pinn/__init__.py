"""pinn: physics-informed neural networks on PyTorch.

The public API is re-exported here; everything else is an implementation detail.
"""

from .activations import ACTIVATIONS, Sin, Softplus, Tanh, get_activation
from .adaptive import RARD
from .checkpoints import CheckpointDir
from .compiling import GuardedCompile
from .constraints import HardConstraint, box_factor, time_factor
from .coefficients import WithCoefficients, make_learnable
from .derivatives import AutogradEngine, Derivatives
from .domains import Domain
from .ensemble import EnsembleResult, train_ensemble
from .engines import ENGINES, get_engine
from .evaluation import GridEvaluation, evaluate_grid, max_abs_error, predict, relative_l2
from .functional import FuncEngine, derivative_tower
from .taylor import TaylorEngine, taylor_fields
from .losses import PINNLoss
from .nn import MLP
from .observations import ObservationError, Observations, load_observations, sample_observations
from .pdes import PDE, Burgers, Heat, Heat2D, Wave
from .quasi_newton import QUASI_NEWTON_METHODS, DenseQuasiNewton
from .sampling import SAMPLERS, LatinHypercubeSampler, Sampler, SobolSampler, UniformSampler, get_sampler
from .terms import POINT_SETS, DerivativeEngine, Term
from .training import ADAM_IMPLS, Trainer, TrainResult, TrainState, adam

__all__ = [
    "ACTIVATIONS", "Sin", "Softplus", "Tanh", "get_activation",
    "AutogradEngine", "Derivatives", "FuncEngine", "derivative_tower", "TaylorEngine", "taylor_fields",
    "ENGINES", "get_engine",
    "Domain", "POINT_SETS", "Term", "DerivativeEngine",
    "SAMPLERS", "Sampler", "UniformSampler", "LatinHypercubeSampler", "SobolSampler", "get_sampler",
    "PDE", "Burgers", "Heat", "Heat2D", "Wave",
    "MLP", "HardConstraint", "box_factor", "time_factor", "RARD", "PINNLoss", "DenseQuasiNewton",
    "QUASI_NEWTON_METHODS", "Trainer", "TrainResult", "TrainState", "ADAM_IMPLS", "adam",
    "EnsembleResult", "train_ensemble", "GuardedCompile",
    "CheckpointDir", "WithCoefficients", "make_learnable",
    "Observations", "ObservationError", "load_observations", "sample_observations",
    "GridEvaluation", "evaluate_grid", "predict", "relative_l2", "max_abs_error",
]
