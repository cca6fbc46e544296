"""Built-in PDEs, one module each."""

from pinn.pdes.allen_cahn import AllenCahn
from pinn.pdes.base import PDE
from pinn.pdes.burgers import Burgers
from pinn.pdes.gray_scott import GrayScott
from pinn.pdes.heat import Heat
from pinn.pdes.heat2d import Heat2D
from pinn.pdes.heat_ball import HeatBall
from pinn.pdes.heat_inverse import HeatInverse
from pinn.pdes.heat_longtime import HeatLongTime
from pinn.pdes.heat_plate import HeatPlate
from pinn.pdes.heat_vc import HeatVaryingCoef
from pinn.pdes.kovasznay import Kovasznay
from pinn.pdes.kuramoto_sivashinsky import KuramotoSivashinsky
from pinn.pdes.lid_driven import LidDrivenCavity
from pinn.pdes.poisson import Poisson
from pinn.pdes.poisson_balls import PoissonBalls
from pinn.pdes.poisson_blocks import PoissonManyArea
from pinn.pdes.poisson_holes import PoissonHoles
from pinn.pdes.poisson_inverse import PoissonInverse
from pinn.pdes.poisson_nd import PoissonND
from pinn.pdes.schrodinger import Schrodinger
from pinn.pdes.taylor_green import TaylorGreen
from pinn.pdes.wave import Wave
from pinn.pdes.wave2d import Wave2D

__all__ = [
    "PDE", "AllenCahn", "Burgers", "GrayScott", "Heat", "Heat2D", "HeatBall", "HeatInverse", "HeatLongTime",
    "HeatPlate", "HeatVaryingCoef", "Kovasznay", "KuramotoSivashinsky", "LidDrivenCavity", "Poisson",
    "PoissonBalls", "PoissonHoles", "PoissonInverse", "PoissonManyArea", "PoissonND", "Schrodinger", "TaylorGreen",
    "Wave", "Wave2D",
]
