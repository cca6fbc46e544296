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


# --- the third family: hostile run and sweep directories (issue 33) ------------------------

SECRET = "FUZZ-SECRET-7f3a9c"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcde", "bcdef"))
RUN_FILES = ["FAILED", "metrics.json", "history.csv", "predictions.npz", "checkpoint.pt", ".hydra/config.yaml",
             ".hydra/overrides.yaml", "plots/loss.png", "plots/solution.png"]
OUT_DIRS = ["eval", "plots", ".hydra", "checkpoints"]


class _Hung(Exception):
    pass


def _hostile_damages(rng, outside: Path, fifo: Path):
    """Functions ``damage(run_dir)`` that plant links, bombs, tags, interpolations, oversized files."""
    secret_file, victim_dir, victim_file = outside / "secret.txt", outside / "victim", outside / "victim.txt"

    def link(name, target, directory=False):
        def plant(d):
            p = d / name
            if p.parent.is_symlink():
                return  # an earlier damage's link to a directory outside
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
            p.parent.mkdir(parents=True, exist_ok=True)
            p.symlink_to(target, target_is_directory=directory)
        return plant

    def text(name, content):
        def write(d):
            if (d / name).parent.is_symlink():
                return  # an earlier damage's link to a directory outside
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            if (d / name).is_symlink():
                (d / name).unlink()
            (d / name).write_text(content)
        return write

    def oversized(name, size):
        def grow(d):
            if (d / name).is_symlink():  # an earlier damage's link: never write through it (a FIFO blocks)
                (d / name).unlink()
            with open(d / name, "ab") as f:
                f.truncate(size)  # sparse: costs no disk
        return grow

    def interpolation(value):
        def edit(d):
            if (d / ".hydra" / "config.yaml").is_symlink() or (d / ".hydra").is_symlink():
                return  # an earlier damage's link
            try:
                cfg = OmegaConf.load(d / ".hydra" / "config.yaml")
                cfg.pde.alpha  # noqa: B018 - an earlier damage may have left no pde node
            except Exception:  # an earlier damage left a config that is no longer YAML of a pde
                return
            cfg.pde.alpha = value
            OmegaConf.save(cfg, d / ".hydra" / "config.yaml")
        return edit

    makers = [
        lambda: link(rng.choice(RUN_FILES), secret_file),
        lambda: link(rng.choice(RUN_FILES), victim_file),
        lambda: link(rng.choice(RUN_FILES), "/dev/zero"),
        lambda: link(rng.choice(RUN_FILES), fifo),
        lambda: link(rng.choice(OUT_DIRS), victim_dir, directory=True),
        lambda: link("eval/" + rng.choice(["metrics.json", "predictions.npz", "residuals.png", "solution.csv"]),
                     victim_file),
        lambda: text(rng.choice([".hydra/config.yaml", ".hydra/overrides.yaml"]), BOMB),
        lambda: text(rng.choice([".hydra/config.yaml", ".hydra/overrides.yaml"]),
                     rng.choice(["- !!python/object/apply:os.system ['touch PWNED']\n",
                                 "pde: !!python/name:os.system\n", "x: !!binary aGVsbG8=\n"])),
        lambda: interpolation(rng.choice(["${oc.env:PINN_FUZZ_SECRET}", "${oc.decode:'1'}", "${now:%Y}",
                                          "${oc.env:PINN_FUZZ_SECRET,0}", "${nope}", "\\${escaped}"])),
        lambda: oversized(rng.choice(["metrics.json", "history.csv", ".hydra/config.yaml", "FAILED"]),
                          rng.choice([70 << 20, 600 << 20])),
        lambda: text("FAILED", rng.choice([SECRET[:4] + "\x1b[2J\x00" * 50, "x" * 100_000, "line1\nline2\r\n"])),
    ]
    return lambda: rng.choice(makers)()


def _hostile_tools():
    return [("pinn-eval", lambda d: eval_cli.main([str(d)])),
            ("pinn-eval", lambda d: eval_cli.main([str(d), "--export", "csv"])),
            ("pinn-plot", lambda d: plot_cli.main([str(d)])),
            ("pinn-compare", lambda d: compare_cli.main([str(d.parent)]))]


def test_three_hundred_hostile_directories(finished, tmp_path, monkeypatch, capsys):
    """Links (to files, directories, /dev/zero, FIFOs), alias bombs, unsafe tags, resolver
    interpolations, oversized files and odd names, against pinn-eval, pinn-plot and pinn-compare:
    no traceback, no hang (20 s a case), no write outside the run or sweep, no secret printed."""
    import os
    import signal

    rng = random.Random(20261206)
    outside = tmp_path / "outside"
    (outside / "victim").mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET + "\n")
    (outside / "victim.txt").write_text("precious\n")
    fifo = outside / "fifo"
    os.mkfifo(fifo)
    monkeypatch.setenv("PINN_FUZZ_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    make = _hostile_damages(rng, outside, fifo)
    tools = _hostile_tools()
    odd = ["0", "job one", "naïve-ü", "-dash", "semi;colon", "new\nline", "quote'd"]

    def alarm(signum, frame):
        raise _Hung()

    previous = signal.signal(signal.SIGALRM, alarm)
    outcomes = {"ok": 0, "refused": 0}
    try:
        for k in range(int(os.environ.get("PINN_FUZZ_CASES", 300))):
            sweep = tmp_path / "hostile" / str(k)
            run = sweep / rng.choice(odd)
            shutil.copytree(finished, run)
            for damage in [make() for _ in range(rng.randint(1, 2))]:
                try:
                    damage(run)
                except (FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError):
                    pass
            name, tool = rng.choice(tools)
            signal.alarm(20)
            try:
                with pytest.raises(SystemExit) as info:
                    tool(run)
                    raise SystemExit(0)
            except _Hung:
                pytest.fail(f"case {k}: {name} hung on {sorted(p.name for p in run.iterdir())}")
            finally:
                signal.alarm(0)
            captured = capsys.readouterr()
            code = info.value.code or 0
            assert code in (0, 1, 2), (k, name, captured.err[-2000:])
            if code:
                assert _one_line(captured.err), (k, name, captured.err[-2000:])
            outcomes["ok" if code == 0 else "refused"] += 1
            assert SECRET not in captured.out + captured.err, (k, name)
            for table in sweep.rglob("compare/*"):
                if table.is_file() and not table.is_symlink():
                    assert SECRET not in table.read_text(errors="replace"), (k, table)
            assert list((outside / "victim").iterdir()) == [], (k, name)
            assert (outside / "victim.txt").read_text() == "precious\n", (k, name)
            assert not (tmp_path / "PWNED").exists()
            shutil.rmtree(sweep)
    finally:
        signal.signal(signal.SIGALRM, previous)
    print(f"hostile: 300 cases, {outcomes['ok']} ran, {outcomes['refused']} refused with one line")
