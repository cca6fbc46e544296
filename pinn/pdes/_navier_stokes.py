"""The incompressible Navier-Stokes residuals in 2-D, shared by the flow PDEs."""

from __future__ import annotations

from collections.abc import Mapping

import torch

#: The fields and derivatives :func:`navier_stokes` reads (steady; add ``u_t``, ``v_t`` for unsteady).
STEADY_FIELDS = ("u", "v", "u_x", "u_y", "v_x", "v_y", "p_x", "p_y", "u_xx", "u_yy", "v_xx", "v_yy")


def navier_stokes(f: Mapping[str, torch.Tensor], nu: float, *, unsteady: bool = False) -> dict[str, torch.Tensor]:
    """``{momentum_x, momentum_y, continuity}``:

        [u_t +] u u_x + v u_y + p_x - nu (u_xx + u_yy),
        [v_t +] u v_x + v v_y + p_y - nu (v_xx + v_yy),
        u_x + v_y.
    """
    mx = f["u"] * f["u_x"] + f["v"] * f["u_y"] + f["p_x"] - nu * (f["u_xx"] + f["u_yy"])
    my = f["u"] * f["v_x"] + f["v"] * f["v_y"] + f["p_y"] - nu * (f["v_xx"] + f["v_yy"])
    if unsteady:
        mx, my = f["u_t"] + mx, f["v_t"] + my
    return {"momentum_x": mx, "momentum_y": my, "continuity": f["u_x"] + f["v_y"]}
