"""Built-in PDEs, one module each."""

from .base import PDE
from .burgers import Burgers
from .heat import Heat
from .heat2d import Heat2D
from .wave import Wave

__all__ = ["PDE", "Burgers", "Heat", "Heat2D", "Wave"]
