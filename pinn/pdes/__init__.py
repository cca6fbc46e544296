"""Built-in PDEs, one module each."""

from .allen_cahn import AllenCahn
from .base import PDE
from .burgers import Burgers
from .heat import Heat
from .heat2d import Heat2D
from .poisson import Poisson
from .wave import Wave

__all__ = ["PDE", "AllenCahn", "Burgers", "Heat", "Heat2D", "Poisson", "Wave"]
