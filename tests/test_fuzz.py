"""Fuzz the four tools (issue 17): generated configs and corrupted run directories, with a fixed
seed. Every case must end with exit code 0, 1 or 2; a failure with one line on stderr and no
traceback, and no partial file left behind (no temporaries; no run directory for a config refused
before training)."""

import json
import random
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from pinn.cli import compare as compare_cli
from pinn.cli import evaluate as eval_cli
from pinn.cli import plot as plot_cli
from pinn.cli import train as train_cli
from pinn.cli.build import run_training

pytestmark = pytest.mark.slow

TINY = ["stages.adam.steps=4", "stages.quasi_newton.steps=2", "stages.quasi_newton.chunk=2", "stages.adam.log_every=2",
        "points.interior=32", "points.initial=8", "points.boundary=8", "model.width=6", "model.depth=2",
        "evaluation.resolution=[9,5]", "plots=false", "checkpoint.every=2", "threads=1"]
KEYS = ["pde", "model", "sampler", "derivatives", "stages", "weighting", "resampler", "logger", "seed", "precision",
        "device", "threads", "hard_constraints", "points.interior", "points.boundary", "model.width", "model.depth",
        "model.activation", "model.adaptive", "model.fourier_features", "stages.adam.steps", "stages.adam.lr",
        "stages.quasi_newton.method", "loss.causal_chunks", "loss.gradient_weight", "loss.point_clip",
        "loss.slope_recovery", "evaluation.resolution", "evaluation.chunk_size", "checkpoint.keep", "data.samples",
        "data.noise", "pde.alpha", "pde.nu", "ensemble.members", "trainer.max_failures", "no.such.key", "model.widht"]
VALUES = ["0", "-1", "1", "2", "3", "1e-30", "1e30", "nan", "inf", "-inf", "abc", "''", "[]", "[1,2]", "[0,0]",
          "true", "null", "heat", "burgers", "wave", "tanh", "relu", "layer", "float64", "float16", "cuda", "lbfgs",
          "ssbfgs", "taylor", "func", "gradnorm", "ntk", "rard", "2.5", "{a: 1}", "100000000000", "0.5", "auto"]


def _one_line(err: str) -> bool:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return len(lines) >= 1 and ": error: " in lines[-1] and "Traceback" not in err and \
        all(": error: " not in line for line in lines[:-1])


def _no_temporaries(root: Path) -> bool:
    return not any(p.name.endswith(".tmp") for p in root.rglob("*")) if root.exists() else True


def _train_cases(rng):
    cases = []
    for _ in range(120):
        args = []
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(KEYS)
            # a valid but huge training budget would just train for days: step counts stay small
            values = [v for v in VALUES if v not in ("100000000000", "1e30")] if key.endswith("steps") else VALUES
            args.append(f"{key}={rng.choice(values)}")
        cases.append(["pde=" + rng.choice(["heat", "burgers", "wave"]), *TINY, *args])
    return cases


def _corruptions(rng, run: Path, n: int):
    """``n`` ways to damage a copy of ``run``, each a function of the copy's path."""

    def truncate(name):
        return lambda d: (d / name).write_bytes((d / name).read_bytes()[: rng.randint(0, 200)])

    def garbage(name):
        return lambda d: (d / name).write_bytes(bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))))

    def delete(name):
        return lambda d: shutil.rmtree(d / name) if (d / name).is_dir() else (d / name).unlink()

    def as_dir(name):
        return lambda d: ((d / name).unlink(), (d / name).mkdir())

    def metrics(value):
        return lambda d: (d / "metrics.json").write_text(value)

    def config(text):
        return lambda d: (d / ".hydra" / "config.yaml").write_text(text)

    def npz_entry(key, value):
        def edit(d):
            with np.load(d / "predictions.npz") as p:
                arrays = dict(p)
            arrays[key] = value
            np.savez(d / "predictions.npz", **arrays)
        return edit

    files = ["metrics.json", "predictions.npz", "history.csv", "checkpoint.pt", ".hydra/config.yaml",
             ".hydra/overrides.yaml"]
    makers = [
        lambda: truncate(rng.choice(files)), lambda: garbage(rng.choice(files)), lambda: delete(rng.choice(files)),
        lambda: as_dir(rng.choice(files)),
        lambda: metrics(rng.choice(["[]", "{}", '{"rel_l2": "abc"}', "null", "{", '{"rel_l2": 1e999}', "3"])),
        lambda: config(rng.choice(["pde: [unclosed", "foo: 1", "", "pde: {_target_: os.system}",
                                   "pde: {_target_: pinn.pdes.Heat, alpha: -1}", "- a\n- b"])),
        lambda: npz_entry(rng.choice(["u_pred", "u_ref", "x", "coordinates", "layout", "fields"]),
                          rng.choice([np.zeros(3), np.array("grid3"), np.array(["q"]), np.zeros((2, 2, 2))])),
        lambda: (lambda d: (d / "history.csv").write_text(rng.choice(["", "step\n1\n", "a,b\nx,y\n"]))),
    ]
    return [rng.choice(makers)() for _ in range(n)]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run = tmp_path_factory.mktemp("fuzz") / "sweep" / "0"
    cfg = train_cli.check_config(["pde=heat", *TINY])
    run_training(cfg, run)
    (run / ".hydra").mkdir()
    OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(["pde=heat"]), run / ".hydra" / "overrides.yaml")
    return run


def test_two_hundred_cases_end_in_one_line_or_success(finished, tmp_path, monkeypatch, capsys):
    rng = random.Random(20261130)
    outcomes = {"ok": 0, "refused": 0}
    monkeypatch.chdir(tmp_path)
    for k, args in enumerate(_train_cases(rng)):
        run_dir = tmp_path / "train" / str(k)
        monkeypatch.setattr(sys, "argv", ["pinn-train", *args, f"hydra.run.dir={run_dir}"])
        with pytest.raises(SystemExit) as info:
            train_cli.main()
            raise SystemExit(0)
        err = capsys.readouterr().err
        code = info.value.code or 0
        assert code in (0, 1, 2), (args, code, err[-2000:])
        if code:
            assert _one_line(err), (args, err[-2000:])
            outcomes["refused"] += 1
            if code == 2:  # refused before training: nothing written
                assert not run_dir.exists() or not any(run_dir.iterdir()), (args, list(run_dir.iterdir()))
        else:
            outcomes["ok"] += 1
        assert _no_temporaries(run_dir), args
    tools = [("pinn-eval", lambda d: eval_cli.main([str(d)])), ("pinn-plot", lambda d: plot_cli.main([str(d)])),
             ("pinn-compare", lambda d: compare_cli.main([str(d.parent)]))]
    for k, damage in enumerate(_corruptions(rng, finished, 84)):
        run = tmp_path / "runs" / str(k) / "sweep" / "0"
        shutil.copytree(finished, run)
        try:
            damage(run)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            pass  # that damage did not apply to this copy; the tools still get it as it is
        name, tool = tools[k % 3]
        with pytest.raises(SystemExit) as info:
            tool(run)
            raise SystemExit(0)
        err = capsys.readouterr().err
        code = info.value.code or 0
        assert code in (0, 1, 2), (name, k, err[-2000:])
        if code:
            assert _one_line(err), (name, k, err[-2000:])
        outcomes["ok" if code == 0 else "refused"] += 1
        assert _no_temporaries(run.parent), (name, k)
    total = outcomes["ok"] + outcomes["refused"]
    assert total >= 200
    (tmp_path / "outcomes.json").write_text(json.dumps(outcomes))
    print(f"fuzz: {total} cases, {outcomes['ok']} ran, {outcomes['refused']} refused with one line")
