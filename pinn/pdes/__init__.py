"""Built-in PDEs, one module each."""

from pinn.pdes.allen_cahn import AllenCahn
from pinn.pdes.base import PDE
from pinn.pdes.burgers import Burgers
from pinn.pdes.heat import Heat
from pinn.pdes.heat2d import Heat2D
from pinn.pdes.kovasznay import Kovasznay
from pinn.pdes.poisson import Poisson
from pinn.pdes.poisson_nd import PoissonND
from pinn.pdes.wave import Wave

__all__ = ["PDE", "AllenCahn", "Burgers", "Heat", "Heat2D", "Kovasznay", "Poisson", "PoissonND", "Wave"]
