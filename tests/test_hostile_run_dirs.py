"""Issue 33, security and data loss: a run or sweep directory someone hands you is data.

Nothing is written through a link planted in it, nothing is read through one, no YAML in it can
hang the tools or read the environment, and no flag or concurrent start deletes or mixes a run.
The link, concurrency and kill cases run the real console scripts in their own processes.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from pinn.io import files as io
from pinn.io.safe import UnsafePathError, atomic_write, open_regular
from pinn.cli.untrusted import load_yaml
from pinn.cli import train as train_cli
from pinn.cli.build import run_training

TINY = ["stages.adam.steps=6", "stages.quasi_newton.steps=4", "stages.quasi_newton.chunk=2", "stages.adam.log_every=3",
        "points.interior=64", "points.initial=16", "points.boundary=16", "model.width=8", "model.depth=2",
        "evaluation.resolution=[21,11]", "checkpoint.every=3"]


def _script(name):
    return str(Path(sys.executable).parent / name)


def _run(args, cwd, timeout=300, env=None):
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)


def _one_line_error(out, prog):
    err = out.stderr.strip()
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in err, err
    last = err.splitlines()[-1]
    assert last.startswith(f"{prog}: error: "), err
    return last


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished tiny heat run made by the real pinn-train (plots included)."""
    root = tmp_path_factory.mktemp("finished")
    run_dir = root / "R"
    out = _run([_script("pinn-train"), "pde=heat", f"hydra.run.dir={run_dir}", *TINY], root)
    assert out.returncode == 0, out.stderr
    return run_dir


@pytest.fixture
def run(finished_run, tmp_path):
    """A private copy of the finished run (links inside are kept as links)."""
    return Path(shutil.copytree(finished_run, tmp_path / "R", symlinks=True))


@pytest.fixture
def victim(tmp_path):
    """A directory and a file outside the run that no tool may touch."""
    d = tmp_path / "victim"
    d.mkdir()
    f = tmp_path / "victim.txt"
    f.write_text("precious\n")
    return d, f


def _untouched(victim):
    d, f = victim
    assert list(d.iterdir()) == [], list(d.iterdir())
    assert f.read_text() == "precious\n"


@contextlib.contextmanager
def _locked_by_another_process(directory):
    """Hold ``directory``'s run lock in a second process for the block."""
    holder = subprocess.Popen([sys.executable, "-c", "import time; from pinn.io.lock import RunLock; "
                               f"lock = RunLock({str(directory)!r}); print('locked', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.communicate()


# --- 1. writes never follow a planted link ------------------------------------------------

def test_atomic_write_refuses_a_link_at_the_file_and_at_its_directory(tmp_path, victim):
    d, f = victim
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.json").symlink_to(f)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        atomic_write(tmp_path / "out" / "x.json", lambda h: h.write(b"evil"))
    (tmp_path / "linked").symlink_to(d, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        atomic_write(tmp_path / "linked" / "x.json", lambda h: h.write(b"evil"))
    _untouched(victim)
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_pinn_eval_refuses_a_linked_eval_directory(run, victim, tmp_path):
    (run / "eval").symlink_to(victim[0], target_is_directory=True)
    line = _one_line_error(_run([_script("pinn-eval"), str(run)], tmp_path), "pinn-eval")
    assert "symbolic link" in line
    _untouched(victim)


@pytest.mark.parametrize("fmt, name", [("csv", "solution.csv"), ("vtk", "solution.pvd")])
def test_pinn_eval_export_refuses_a_linked_output_file(run, victim, tmp_path, fmt, name):
    (run / "eval").mkdir()
    (run / "eval" / name).symlink_to(victim[1])
    line = _one_line_error(_run([_script("pinn-eval"), str(run), "--export", fmt], tmp_path), "pinn-eval")
    assert "symbolic link" in line
    _untouched(victim)


def test_pinn_plot_refuses_a_linked_plot(run, victim, tmp_path):
    (run / "plots" / "loss.png").unlink()
    (run / "plots" / "loss.png").symlink_to(victim[1])
    line = _one_line_error(_run([_script("pinn-plot"), str(run)], tmp_path), "pinn-plot")
    assert "symbolic link" in line
    _untouched(victim)


def _sweep(tmp_path, finished_run, n=2):
    sweep = tmp_path / "S"
    for k in range(n):
        job = Path(shutil.copytree(finished_run, sweep / str(k)))
        OmegaConf.save(OmegaConf.create([f"seed={k}", "pde=heat"]), job / ".hydra" / "overrides.yaml")
    return sweep


def test_pinn_compare_refuses_a_linked_table_and_quotes_hostile_keys(finished_run, tmp_path, victim):
    sweep = _sweep(tmp_path, finished_run)
    OmegaConf.save(OmegaConf.create(["x;touch PWNED;#=1", "seed=1"]), sweep / "1" / ".hydra" / "overrides.yaml")
    (sweep / "compare").mkdir()
    (sweep / "compare" / "runs.csv").symlink_to(victim[1])
    line = _one_line_error(_run([_script("pinn-compare"), str(sweep)], tmp_path), "pinn-compare")
    assert "symbolic link" in line
    _untouched(victim)
    (sweep / "compare" / "runs.csv").unlink()
    out = _run([_script("pinn-compare"), str(sweep)], tmp_path)
    assert out.returncode == 0, out.stderr
    table = (sweep / "compare" / "runs.csv").read_text()
    assert "touch PWNED" not in table  # the run with the hostile key is listed as failed, its overrides dropped
    assert "not a config key" in out.stdout
    assert all(line.startswith('"') for line in table.splitlines())  # every text field quoted


# --- 2. reads never follow a planted link, and are bounded ------------------------------

def test_pinn_compare_never_prints_a_linked_secret(finished_run, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN-1234567890\n")
    sweep = _sweep(tmp_path, finished_run)
    (sweep / "1" / "FAILED").symlink_to(secret)
    out = _run([_script("pinn-compare"), str(sweep)], tmp_path)
    assert out.returncode == 0, out.stderr
    everything = out.stdout + out.stderr + "".join(p.read_text() for p in (sweep / "compare").glob("*.*")
                                                   if p.suffix in (".csv", ".md"))
    assert "TOKEN" not in everything and "symbolic link" in out.stdout


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_pinn_eval_does_not_hang_on_a_device_or_fifo_marker(run, tmp_path, target):
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")
        target = str(tmp_path / "fifo")
    (run / "FAILED").symlink_to(target)
    start = time.perf_counter()
    line = _one_line_error(_run([_script("pinn-eval"), str(run)], tmp_path, timeout=60), "pinn-eval")
    assert time.perf_counter() - start < 60 and "failed run" in line and "symbolic link" in line


def test_open_regular_refuses_links_devices_fifos_and_oversized_files(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 2000)
    with pytest.raises(UnsafePathError, match="MiB"):
        open_regular(tmp_path / "big", limit=1000)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(UnsafePathError, match="FIFO"):
        open_regular(tmp_path / "fifo", limit=1000)
    with pytest.raises(UnsafePathError, match="device"):
        open_regular(Path("/dev/zero"), limit=1000)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("ok")
    (tmp_path / "l").symlink_to(tmp_path / "d", target_is_directory=True)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        open_regular(tmp_path / "l" / "f", limit=1000, root=tmp_path)
    with open_regular(tmp_path / "d" / "f", limit=1000, root=tmp_path) as f:
        assert f.read() == b"ok"


# --- 3. YAML: aliases, tags -----------------------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcde", "bcdef"))


def test_an_alias_bomb_in_a_run_config_is_refused_at_once(run, tmp_path):
    (run / ".hydra" / "config.yaml").write_text(BOMB)
    start = time.perf_counter()
    line = _one_line_error(_run([_script("pinn-eval"), str(run)], tmp_path, timeout=60), "pinn-eval")
    assert "alias" in line and time.perf_counter() - start < 60


def test_compare_skips_runs_with_alias_bombs_or_unsafe_tags(finished_run, tmp_path):
    sweep = _sweep(tmp_path, finished_run, n=3)
    (sweep / "1" / ".hydra" / "overrides.yaml").write_text(BOMB)
    (sweep / "2" / ".hydra" / "overrides.yaml").write_text("- !!python/object/apply:os.system ['echo hi']\n")
    out = _run([_script("pinn-compare"), str(sweep)], tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1 of 3 runs finished" in out.stdout and "alias" in out.stdout, out.stdout
    assert f"{sweep / '2'}: unreadable overrides" in out.stdout


def test_load_yaml_keeps_plain_configs_and_node_interpolations(tmp_path):
    (tmp_path / "c.yaml").write_text("a: 1e-3\nb: ${a}\nc: [1, 2]\n")
    cfg = load_yaml(tmp_path / "c.yaml")
    assert cfg.a == 1e-3 and cfg.b == 1e-3 and list(cfg.c) == [1, 2]


# --- 4. resolvers that read the environment -------------------------------------------------

def test_a_run_config_may_not_read_the_environment(run, tmp_path):
    cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
    cfg.pde.alpha = "${oc.env:MY_SECRET_TOKEN}"
    OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
    out = _run([_script("pinn-eval"), str(run)], tmp_path, env=dict(os.environ, MY_SECRET_TOKEN="s3cr3t-value"))
    line = _one_line_error(out, "pinn-eval")
    assert "s3cr3t" not in out.stdout + out.stderr and "resolver 'oc.env'" in line


# --- 5. a reference path in a run's config -------------------------------------------------

def test_a_run_config_may_not_name_a_file_to_read(tmp_path, capsys):
    from pinn.cli import evaluate as eval_cli

    cfg = train_cli.check_config([*TINY, "pde=poisson2d_c", "points.interior=32", "points.boundary=16",
                                  "stages.quasi_newton.steps=2"])
    run_dir = tmp_path / "run"
    run_training(cfg, run_dir)
    (run_dir / ".hydra").mkdir()
    secret = tmp_path / "netrc"
    secret.write_text("machine example.org login me password hunter2\n")
    cfg.pde.reference = str(secret)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    with pytest.raises(SystemExit):
        eval_cli.main([str(run_dir)])
    err = capsys.readouterr().err
    assert "hunter2" not in err and "--reference PATH" in err


# --- 6. _target_ reached through an attribute ----------------------------------------------

def test_a_target_through_an_attribute_is_refused_by_its_own_module(run, tmp_path):
    cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
    cfg.model = {"_target_": "pinn.nets.mlp.nn.Identity"}
    OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
    line = _one_line_error(_run([_script("pinn-eval"), str(run)], tmp_path), "pinn-eval")
    assert "torch.nn.modules.linear.Identity" in line and "not a pinn class" in line


# --- 7. resume imports no file the run names -----------------------------------------------

def test_resume_never_imports_a_source_the_run_names(tmp_path):
    marker = tmp_path / "owned.txt"
    evil = tmp_path / "evil.py"
    evil.write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('owned')\n"
                    "from pinn.pdes import Heat\nclass Evil(Heat):\n    pass\n")
    run_dir = tmp_path / "R"
    out = _run([_script("pinn-train"), "pde=heat", f"hydra.run.dir={run_dir}", *TINY, "trainer.nan_at=[5]",
                "trainer.max_failures=0"], tmp_path)
    assert out.returncode != 0 and (run_dir / "checkpoints").is_dir(), out.stderr
    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    cfg.pde.source = str(evil)
    cfg.pde._target_ = "evil.Evil"
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    line = _one_line_error(_run([_script("pinn-train"), f"resume={run_dir}"], tmp_path), "pinn-train")
    assert "pde.source=FILE" in line and not marker.exists()
    other = tmp_path / "other.py"
    other.write_text(evil.read_text())
    line = _one_line_error(_run([_script("pinn-train"), f"resume={run_dir}", f"pde.source={other}"], tmp_path),
                           "pinn-train")
    assert "differs" in line and not marker.exists()


# --- 8. flags that print never delete a run; nothing is cleared before the config is good ---

@pytest.mark.parametrize("flags", [["--help"], ["--cfg", "job"], ["--hydra-help"], ["--info"],
                                   ["debug=true", "pde.nu=-1", "pde=burgers"], ["pde.nu=-1", "pde=burgers"]])
def test_no_flag_and_no_bad_config_deletes_a_finished_run(run, tmp_path, flags):
    before = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
    out = _run([_script("pinn-train"), f"hydra.run.dir={run}", *flags], tmp_path)
    after = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
    assert set(before) <= set(after), set(before) - set(after)
    assert not (run / "FAILED").exists() and (run / "metrics.json").exists()
    if "pde.nu=-1" in flags and "debug=true" not in flags:
        _one_line_error(out, "pinn-train")


def test_a_config_dir_never_clears_a_finished_run(run, tmp_path):
    (tmp_path / "mine").mkdir()
    out = _run([_script("pinn-train"), "--config-dir", str(tmp_path / "mine"), f"hydra.run.dir={run}"], tmp_path)
    line = _one_line_error(out, "pinn-train")
    assert "holds a run" in line and (run / "metrics.json").exists() and (run / "checkpoint.pt").exists()


# --- 9. two runs in one second, two sweeps in one directory -----------------------------

def test_two_default_runs_started_together_get_two_directories(tmp_path):
    procs = [subprocess.Popen([_script("pinn-train"), "pde=heat", f"seed={k}", *TINY, "plots=false"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, OMP_NUM_THREADS="1")) for k in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    runs = sorted(p.parent for p in (tmp_path / "runs").rglob("metrics.json"))
    assert len(runs) == 2
    seeds = sorted(json.loads((r / "metrics.json").read_text())["seed"] for r in runs)
    assert seeds == [0, 1]


def test_claim_new_dir_never_hands_out_one_directory_twice(tmp_path):
    got = {io.claim_new_dir(tmp_path / "runs" / "12-00-00") for _ in range(3)}
    assert len(got) == 3 and all(Path(g).is_dir() for g in got)


def test_a_sweep_directory_is_locked(tmp_path):
    sweep = tmp_path / "S"
    from pinn.io.lock import RunLock

    with _locked_by_another_process(sweep):
        out = _run([_script("pinn-train"), "-m", "pde=heat", "seed=0,1", f"hydra.sweep.dir={sweep}", *TINY], tmp_path)
        line = _one_line_error(out, "pinn-train")
        assert "being written by another pinn process" in line
        assert not any(sweep.glob("*/metrics.json"))
    RunLock(sweep).release()


# --- 10. an interpolated run directory is guarded where Hydra will write -------------------

def test_an_interpolated_run_directory_is_resolved_before_it_is_guarded(tmp_path):
    unfinished = tmp_path / "x" / "0"
    out = _run([_script("pinn-train"), "pde=heat", f"hydra.run.dir={unfinished}", *TINY, "trainer.nan_at=[5]",
                "trainer.max_failures=0"], tmp_path)
    assert (unfinished / "checkpoints").is_dir(), out.stderr
    (unfinished / "FAILED").unlink(missing_ok=True)
    before = sorted(p.name for p in (unfinished / "checkpoints").iterdir())
    out = _run([_script("pinn-train"), "pde=heat", f"hydra.run.dir={tmp_path}/x/${{seed}}", "seed=0", *TINY], tmp_path)
    line = _one_line_error(out, "pinn-train")
    assert "unfinished run" in line and str(unfinished) in line
    assert not (tmp_path / "x" / "${seed}").exists()
    assert sorted(p.name for p in (unfinished / "checkpoints").iterdir()) == before


# --- 20. pinn.train locks its directory ----------------------------------------------------

def test_pinn_train_from_python_takes_the_lock(tmp_path):
    run_dir = tmp_path / "R"
    with _locked_by_another_process(run_dir):
        cfg = train_cli.check_config([*TINY, "pde=heat", "plots=false"])
        with pytest.raises(io.RunDirError, match="another pinn process"):
            run_training(cfg, run_dir)
        assert not (run_dir / "metrics.json").exists()


# --- 19. --out that is the run itself --------------------------------------------------------

def test_pinn_eval_out_may_not_be_the_run_itself(run, tmp_path):
    before = (run / "metrics.json").read_bytes()
    line = _one_line_error(_run([_script("pinn-eval"), str(run), "--out", str(run)], tmp_path), "pinn-eval")
    assert "the run directory itself" in line and (run / "metrics.json").read_bytes() == before


# --- 23. an unresolvable interpolation does not switch off the mixed-run check ---------------

def test_an_unresolvable_interpolation_is_refused(run, tmp_path):
    with open(run / ".hydra" / "config.yaml", "a") as f:
        f.write("zz: ${nope}\n")
    line = _one_line_error(_run([_script("pinn-eval"), str(run)], tmp_path), "pinn-eval")
    assert "does not resolve" in line


# --- 17. one spelling of --debug -------------------------------------------------------------

@pytest.mark.parametrize("tool", ["pinn-eval", "pinn-plot", "pinn-compare"])
def test_every_tool_takes_debug(tool, tmp_path):
    out = _run([_script(tool), str(tmp_path / "missing"), "--debug"], tmp_path)
    assert "unrecognized arguments" not in out.stderr and out.returncode != 0


# --- 29. durable writes ----------------------------------------------------------------------

def test_atomic_write_syncs_the_file_and_its_directory(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_mode), real(fd)))
    atomic_write(tmp_path / "f.bin", lambda f: f.write(b"data"))
    import stat

    assert [stat.S_ISREG(m) for m in synced] == [True, False] and stat.S_ISDIR(synced[1])
    assert (tmp_path / "f.bin").read_bytes() == b"data"


# --- 12. a read-only working directory with the default run directory ---------------------

def test_a_read_only_working_directory_is_one_line(tmp_path):
    from test_read_only import _lock

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    if not _lock(cwd, True):
        pytest.skip("cannot make a directory read-only here (root without chattr +i)")
    try:
        try:
            (cwd / "probe").write_text("x")
            pytest.skip("the directory stays writable here")
        except OSError:
            pass
        out = _run([_script("pinn-train"), "pde=heat", *TINY], cwd)
        line = _one_line_error(out, "pinn-train")
        assert "not writable" in line and "hydra.run.dir" in line
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    finally:
        _lock(cwd, False)


# --- 22. an export killed midway leaves whole files --------------------------------------

def test_an_export_that_fails_midway_leaves_no_partial_file(run, tmp_path, monkeypatch):
    import meshio

    from pinn.cli import evaluate as eval_cli

    out = tmp_path / "ev"
    eval_cli.main([str(run), "--out", str(out), "--export", "vtk"])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    frames = sorted(n for n in before if n.endswith(".vtu"))
    assert len(frames) > 2 and "solution.pvd" in before
    real, calls = meshio.write, {"n": 0}

    def dying(path, mesh, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the second frame: as if the process were killed while writing it
            with open(path, "wb") as f:
                f.write(b"<?xml half")
            raise KeyboardInterrupt
        return real(path, mesh, *args, **kwargs)

    monkeypatch.setattr(meshio, "write", dying)
    with pytest.raises(SystemExit):
        eval_cli.main([str(run), "--out", str(out), "--export", "vtk"])
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert not [n for n in after if n.endswith(".tmp")]
    for name in frames:  # every frame is an old one or a new one, whole: never the half-written bytes
        assert after[name].startswith(b"<?xml version") and after[name].rstrip().endswith(b"</VTKFile>")
    assert after["solution.pvd"] == before["solution.pvd"]


# --- 24. a foreign run's network is sized against its checkpoint before it is built -------

def test_a_huge_network_in_a_run_config_is_refused_before_it_is_built(run, tmp_path):
    cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
    cfg.model.width, cfg.model.depth = 20000, 20
    OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
    start = time.perf_counter()
    line = _one_line_error(_run([_script("pinn-eval"), str(run)], tmp_path), "pinn-eval")
    assert "asks for a network of about" in line and "mixes two runs" in line
    assert time.perf_counter() - start < 60

# --- 27. SIGTERM ends an ensemble run with one line, not silently -------------------------

def test_sigterm_ends_an_ensemble_with_one_line(tmp_path):
    run_dir = tmp_path / "E"
    proc = subprocess.Popen([_script("pinn-train"), "pde=heat", "ensemble.members=2", "derivatives=taylor",
                             "stages.quasi_newton.steps=0", "stages.adam.steps=1000000", "stages.adam.log_every=5",
                             "points.interior=64", "points.initial=16", "points.boundary=16", "model.width=8",
                             "model.depth=2", "plots=false", f"hydra.run.dir={run_dir}"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1"))
    try:
        deadline = time.monotonic() + 120  # wait until it trains: its log (RUN/train.log) shows a step
        while time.monotonic() < deadline and proc.poll() is None:
            log = run_dir / "train.log"
            if log.exists() and " step " in log.read_text(errors="replace"):
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("pinn-train: error: interrupted") and "Traceback" not in err, err[-2000:]
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "FAILED").exists()


# --- 26 (shapes) and 17 (pinn-train --debug) --------------------------------------------------

def test_an_empty_shape_is_refused_when_its_domain_is_made():
    from pinn.geometry import Ball, Box
    from pinn.physics.shape_domain import ShapeDomain

    start = time.perf_counter()
    with pytest.raises(ValueError, match="empty"):
        ShapeDomain(Ball([0.0, 0.0], 1.0) & Ball([5.0, 0.0], 1.0))
    with pytest.raises(ValueError, match="empty"):
        ShapeDomain(Box([0.0, 0.0], [1.0, 1.0]) - Box([-1.0, -1.0], [2.0, 2.0]))
    assert time.perf_counter() - start < 5


def test_pinn_train_takes_debug_as_the_other_tools_do(tmp_path):
    out = _run([_script("pinn-train"), "--debug", "pde=burgers", "pde.nu=-1"], tmp_path)
    assert out.returncode != 0 and "Traceback" in out.stderr and "unrecognized arguments" not in out.stderr
    assert not (tmp_path / "runs").exists()
