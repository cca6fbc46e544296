"""Modules moved in 0.3 keep their old names for one minor version: importing one warns, naming
the new path, and gives the very same objects (CHANGELOG.md, README "Upgrading")."""

import importlib
import sys

import pytest

MOVED = {
    "pinn.nets.adaptive": "pinn.nets.adaptive_activations",
    "pinn.training.adaptive": "pinn.training.resampling",
    "pinn.training.fused": "pinn.training.fused_step",
    "pinn.training.quasi_newton": "pinn.training.dense_bfgs",
    "pinn.io.evaluation": "pinn.evaluation.grid",
    "pinn.io.residual_maps": "pinn.evaluation.residual_maps",
    "pinn.nets.ensemble": "pinn.training.ensemble",
    "pinn.diff.fields": "pinn.physics.fields",
    "pinn.training.checkpoints": "pinn.io.checkpoints",
}


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_an_old_module_name_warns_and_gives_the_same_objects(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        alias = importlib.import_module(old)
    target = importlib.import_module(new)
    assert alias.__all__ == target.__all__ and target.__all__
    for name in target.__all__:
        assert getattr(alias, name) is getattr(target, name)


def test_the_changelog_lists_every_move():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "CHANGELOG.md").read_text()
    for old, new in MOVED.items():
        assert f"`{old}` -> `{new}`" in text
