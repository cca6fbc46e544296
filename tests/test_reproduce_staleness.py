"""Issue 34, item 13: every results.json row records its commit; RESULTS.md marks a row recorded
before the last change to the training code (or the preset's YAML) stale; a re-run reports the
difference."""

import importlib.util
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("reproduce", ROOT / "scripts" / "reproduce.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _git(*args):
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


@pytest.fixture(scope="module")
def history():
    if _git("rev-parse", "--is-shallow-repository") != "false":
        pytest.skip("needs the repository's git history (a full clone)")
    last = _git("log", "-1", "--format=%H", "--", "pinn/training", "pinn/diff", "pinn/nets", "experiments/heat.yaml")
    before = _git("rev-parse", f"{last}~1") if last else None
    if not last or not before:
        pytest.skip("no training-code change with a parent in this history")
    return last, before


def test_rows_are_stale_when_recorded_before_the_training_code_changed(history):
    r = _script()
    last, before = history
    assert r.staleness("heat", {"commit": last}) is None
    assert r.staleness("heat", {"commit": _git("rev-parse", "HEAD")}) is None
    assert "before the training code changed" in r.staleness("heat", {"commit": before})
    assert "before commits were recorded" in r.staleness("heat", {})
    assert "uncommitted" in r.staleness("heat", {"commit": last + "+dirty"})
    rendered = r.render({"heat": {"rel_l2": 1e-8, "train_seconds": 1.0, "wall_seconds": 2.0, "machine": "m",
                                  "date": "d", "command": "c", "commit": before}})
    row = next(line for line in rendered.splitlines() if line.startswith("| `heat`"))
    assert "**stale**" in row


def test_a_rerun_reports_its_difference_from_the_recorded_row():
    r = _script()
    line = r.difference({"rel_l2": 2e-5, "commit": "abcdef0123", "date": "2026-11-30"}, {"rel_l2": 2.2e-5})
    assert line.startswith("rel. L2 2.200e-05 now, 2.000e-05 recorded (+10.0%; recorded at abcdef01")
    assert r.difference(None, {"rel_l2": 1.0}) == "no earlier figure to compare with"
    assert r.current_commit() is None or len(r.current_commit().split("+")[0]) == 40


def test_the_scripts_own_outputs_do_not_make_a_run_dirty(tmp_path, monkeypatch):
    """reproduce.py rewrites results.json and RESULTS.md after every run of a sweep: those must not
    mark the next run '+dirty' (every run after a sweep's first was); a preset's YAML must."""
    r = _script()
    repo = tmp_path / "repo"
    (repo / "experiments").mkdir(parents=True)
    (repo / "pinn" / "training").mkdir(parents=True)
    for path in ("experiments/heat.yaml", "experiments/results.json", "pinn/training/x.py"):
        (repo / path).write_text("a\n")

    def git(*args):
        subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo, check=True,
                       capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "init")
    monkeypatch.setattr(r, "ROOT", repo)
    (repo / "experiments" / "results.json").write_text("b\n")
    (repo / "experiments" / "RESULTS.md").write_text("b\n")
    assert not r.current_commit().endswith("+dirty")
    (repo / "experiments" / "heat.yaml").write_text("b\n")
    assert r.current_commit().endswith("+dirty")


def test_a_rerecorded_row_shows_the_row_it_replaced():
    """Issue 30: RESULTS.md shows the old and new training times side by side, with the errors."""
    r = _script()
    old = {"rel_l2": 3.0e-4, "train_seconds": 837.4, "wall_seconds": 850.0, "commit": "d1c2ea61aaaa", "date": "d",
           "machine": "m", "command": "c", "previous": {"rel_l2": 1.0}}
    new = {"rel_l2": 1.3e-4, "train_seconds": 510.2, "wall_seconds": 520.0, "commit": "2be334dbbbbb", "date": "d",
           "machine": "m", "command": "c"}
    entry = r.with_previous(old, new)
    assert entry["previous"] == {k: old[k] for k in ("rel_l2", "train_seconds", "commit", "date", "machine")}
    assert r.with_previous(None, new) == new
    row = next(line for line in r.render({"wave": entry}).splitlines() if line.startswith("| `wave`"))
    assert "| 510 s | 3.00e-04 in 837 s (d1c2ea61) |" in row
