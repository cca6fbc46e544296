"""A user's own configs: ./conf is searched with no flag, and pde.source is found beside its YAML."""

import pytest

from pinn.cli.compose import compose_config
from pinn.cli.config import with_user_search_path

PDE = '''
import math
import torch
from pinn.pdes import PDE
from pinn.physics.domains import Domain
from pinn.physics.terms import Term


class Drift(PDE):
    name = "drift"

    def __init__(self, *, a: float = 0.5):
        if not a > 0:
            raise ValueError(f"a must be > 0, got {a}")
        self.a = float(a)
        self.domain = Domain({"x": (0.0, 1.0)}, (0.0, 1.0))

    def residual(self, fields, coords):
        return fields["u_t"] + self.a * fields["u_x"]

    def conditions(self):
        return (Term("initial", "initial", ("u",), lambda f, c: f["u"] - torch.sin(2 * math.pi * c["x"])),)
'''


def _user_dir(tmp_path, source="drift.py", beside=True):
    (tmp_path / "conf" / "pde").mkdir(parents=True)
    (tmp_path / "conf" / "pde" / "drift.yaml").write_text(f"_target_: drift.Drift\nsource: {source}\na: 0.7\n")
    (tmp_path / "conf" / "pde" if beside else tmp_path).joinpath("drift.py").write_text(PDE)
    return tmp_path


def test_conf_beside_the_working_directory_is_searched_and_source_is_relative_to_its_yaml(tmp_path, monkeypatch):
    monkeypatch.chdir(_user_dir(tmp_path))
    cfg = compose_config(["pde=drift"])
    assert cfg.pde.a == 0.7 and cfg.pde.source == str((tmp_path / "conf" / "pde" / "drift.py").resolve())
    from pinn.cli.build import build_pde
    assert build_pde(cfg).name == "drift"


def test_a_source_in_the_working_directory_still_works(tmp_path, monkeypatch):
    monkeypatch.chdir(_user_dir(tmp_path, beside=False))
    cfg = compose_config(["pde=drift"])
    assert cfg.pde.source == "drift.py"


def test_a_missing_source_is_named_where_it_should_be(tmp_path, monkeypatch):
    monkeypatch.chdir(_user_dir(tmp_path, source="gone.py"))
    cfg = compose_config(["pde=drift"])
    from pinn.cli.build import build_pde
    with pytest.raises(ValueError, match=r"no Python file .*conf/pde/gone.py"):
        build_pde(cfg)


def test_an_unknown_pde_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"looked in pinn's configs \(no ./conf here\); your own goes in ./conf/pde/kdv.yaml"):
        compose_config(["pde=kdv"])
    monkeypatch.chdir(_user_dir(tmp_path / "u"))
    with pytest.raises(ValueError, match="and " + str((tmp_path / "u" / "conf").resolve())):
        compose_config(["pde=kdv"])


def test_an_explicit_search_path_is_used_as_given(tmp_path):
    _user_dir(tmp_path)
    assert with_user_search_path(["pde=drift"], cwd=tmp_path)[-1] == f"hydra.searchpath=['file://{(tmp_path / 'conf').resolve()}']"
    mine = ["pde=drift", "hydra.searchpath=[file:///elsewhere]"]
    assert with_user_search_path(mine, cwd=tmp_path) == mine
    assert with_user_search_path(["pde=heat"], cwd=tmp_path / "nothing") == ["pde=heat"]
