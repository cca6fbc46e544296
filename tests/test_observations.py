import re

import numpy as np
import pytest
import torch

from pinn import Burgers, Heat, MLP, PINNLoss, get_engine, get_sampler
from pinn.physics.observations import ObservationError, load_observations, sample_observations
from pinn.training.loss_extras import DataMisfit

from conftest import SHARED_DATA


def test_npz_and_csv_round_trip(tmp_path):
    x, t, u = np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.6, 0.7]), np.array([1.0, -2.0, 3.5])
    np.savez(tmp_path / "obs.npz", t=t, x=x, u=u)
    (tmp_path / "obs.csv").write_text("x,t,u\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(x, t, u)))
    for name in ("obs.npz", "obs.csv"):
        obs = load_observations(tmp_path / name, ("x", "t"))
        np.testing.assert_array_equal(obs.points.numpy(), np.stack([x, t], 1))
        np.testing.assert_array_equal(obs.values.numpy(), u)


BAD_FILES = {
    "missing": (None, "does not exist"),
    "suffix": (("obs.txt", b"x,t,u\n"), "must end in .npz or .csv"),
    "empty-csv": (("obs.csv", b""), "is empty"),
    "text-in-csv": (("obs.csv", b"x,t,u\n0.1,0.2,abc\n"), "non-numeric"),
    "short-row": (("obs.csv", b"x,t,u\n0.1,0.2\n"), "missing or non-numeric"),
    "no-u-column": (("obs.csv", b"x,t\n0.1,0.2\n"), "lacks the columns ['u']"),
    "nan": (("obs.csv", b"x,t,u\n0.1,0.2,nan\n"), "NaN or infinite"),
    "no-rows": (("obs.csv", b"x,t,u\n"), "holds no observations"),
    "truncated-npz": (("obs.npz", b"PK\x03\x04garbage"), "not a readable .npz"),
    "binary-csv": (("obs.csv", b"\xff\xfe\x00\x01"), "not a readable CSV"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_unreadable_observation_files_are_explained(case, tmp_path):
    spec, message = BAD_FILES[case]
    path = tmp_path / "nope.csv"
    if spec:
        path = tmp_path / spec[0]
        path.write_bytes(spec[1])
    with pytest.raises(ObservationError, match=re.escape(message)):
        load_observations(path, ("x", "t"))


def test_npz_columns_of_different_lengths(tmp_path):
    np.savez(tmp_path / "o.npz", x=np.zeros(3), t=np.zeros(2), u=np.zeros(3))
    with pytest.raises(ObservationError, match="different lengths"):
        load_observations(tmp_path / "o.npz", ("x", "t"))


def test_sampled_observations_follow_the_reference_and_the_noise_level():
    pde = Burgers()
    g = torch.Generator().manual_seed(0)
    clean = sample_observations(pde, 2000, sampler=get_sampler("lhs"), generator=g)
    ref = pde.solution({"x": clean.points[:, 0].numpy(), "t": clean.points[:, 1].numpy()})
    np.testing.assert_array_equal(clean.values.numpy(), ref)
    g = torch.Generator().manual_seed(0)
    noisy = sample_observations(pde, 2000, noise=0.01, sampler=get_sampler("lhs"), generator=g)
    rel = (noisy.values - clean.values).std() / clean.values.std()
    assert 0.009 < rel < 0.011
    with pytest.raises(ValueError, match="data.noise"):
        sample_observations(pde, 5, noise=-1, sampler=get_sampler("lhs"), generator=g)


def test_data_term_is_the_misfit_at_the_observations():
    pde = Heat()
    g = torch.Generator().manual_seed(0)
    net = MLP(pde.domain.lower, pde.domain.upper, width=8, depth=2, generator=g, dtype=torch.float64)
    obs = sample_observations(pde, 50, sampler=get_sampler("uniform"), generator=g)
    pts = {w: pde.domain.sample(w, 20, get_sampler("uniform"), generator=g) for w in pde.domain.point_sets}
    pts.update(data=obs.points, data_values=obs.values)
    loss = PINNLoss(pde, get_engine("autograd"), extras=[DataMisfit()], weights={"data": 2.0})
    total, parts = loss(net, pts)
    want = ((net(obs.points).reshape(-1) - obs.values) ** 2).mean()
    torch.testing.assert_close(parts["data"], want)
    torch.testing.assert_close(total, parts["residual"] + parts["initial"] + parts["boundary"] + 2 * want)


def test_observations_at_the_points_of_a_table_pinnacles_hinv_file():
    """``data.at``: PINNacle's HInv observes u at the 2,500 points of its file (shipped); the values
    are the reference there plus the noise; the table's rows and columns are checked."""
    from pinn.cli.build import build
    from pinn.cli.compose import compose_config

    job = build(compose_config(["experiment=hinv"]))  # the preset observes u at the file's points
    obs = job.observations
    source = SHARED_DATA / "pinnacle" / "heatinv_points.dat"
    if not source.exists():
        pytest.skip(f"{source} is not present (it lives in ../shared/data/pinnacle beside the repository)")
    table = np.loadtxt(source)
    np.testing.assert_array_equal(obs.points.numpy(), table)
    x, y, t = table.T
    exact = np.exp(-t) * np.sin(np.pi * x) * np.sin(np.pi * y)
    noise = obs.values.numpy() - exact
    assert obs.field == "u" and 0.095 < noise.std() < 0.105 and abs(noise.mean()) < 0.01
    with pytest.raises(ValueError, match="data.samples=100 but data.at holds 2500 points"):
        build(compose_config(["experiment=hinv", "data.samples=100", "data.at=heatinv_points.dat"]))
    with pytest.raises(ObservationError, match=r"no point table at nope.dat.*heatinv_points.dat"):
        build(compose_config(["experiment=hinv", "data.at=nope.dat"]))


def test_point_tables_are_checked(tmp_path):
    from pinn.physics.observations import read_points

    (tmp_path / "ok.txt").write_text("0.1, 0.2\n0.3 0.4\n")
    np.testing.assert_array_equal(read_points(tmp_path / "ok.txt", ("x", "t")).numpy(), [[0.1, 0.2], [0.3, 0.4]])
    for text, message in (("0.1 0.2 0.3\n", "has 3 columns; it needs one per coordinate, ['x', 't']"),
                          ("0.1 abc\n", "not a table of numbers"), ("0.1 nan\n", "NaN or infinite")):
        (tmp_path / "bad.txt").write_text(text)
        with pytest.raises(ObservationError, match=re.escape(message)):
            read_points(tmp_path / "bad.txt", ("x", "t"))
    (tmp_path / "far.txt").write_text("0.5 2.0\n")
    from pinn.cli.build import build
    from pinn.cli.compose import compose_config
    with pytest.raises(ValueError, match="lie outside the domain"):
        build(compose_config(["pde=burgers", f"data.at={tmp_path / 'far.txt'}"]))


def test_observed_values_and_sampling_points_are_not_mixed(tmp_path):
    from pinn.cli.build import build
    from pinn.cli.compose import compose_config

    np.savez(tmp_path / "obs.npz", x=np.zeros(2), t=np.zeros(2), u=np.zeros(2))
    with pytest.raises(ValueError, match="data.path reads observed values: set one of them"):
        build(compose_config(["pde=burgers", f"data.path={tmp_path / 'obs.npz'}", "data.at=heatinv_points.dat"]))
