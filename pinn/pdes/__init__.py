"""Built-in PDEs, one module each."""

from .base import PDE
from .burgers import Burgers
from .heat import Heat
from .wave import Wave

__all__ = ["PDE", "Burgers", "Heat", "Wave"]
