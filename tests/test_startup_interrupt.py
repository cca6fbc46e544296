"""Reliability (issue 17, case 12): Ctrl-C in a tool's first seconds, while torch and Hydra load,
ends with one line and exit code 130, never an import traceback; a library user's
``KeyboardInterrupt`` is left alone."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pinn._startup import starting


def _script(name):
    return str(Path(sys.executable).parent / name)


def _wait_until_torch_loads(pid: int, timeout: float = 60.0) -> None:
    """Return once the process maps torch's libraries: pinn's start-up guard is in place by then.
    Before it (Python's own start-up, its ``site`` import) no code of ours runs, and a signal there
    gets Python's traceback; a bare delay could land there on a fast or a loaded machine."""
    maps = Path(f"/proc/{pid}/maps")
    if not maps.exists():
        return  # no /proc: the delay alone
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if "/torch/" in maps.read_text():
                return
        except OSError:
            return  # it has ended
        time.sleep(0.002)


@pytest.mark.parametrize("tool,args,delay", [("pinn-train", ["pde=heat"], 0.05), ("pinn-train", ["pde=heat"], 0.3),
                                             ("pinn-train", ["pde=heat"], 0.8), ("pinn-eval", ["RUN"], 0.5),
                                             ("pinn-plot", ["RUN"], 0.3), ("pinn-compare", ["RUN"], 0.5)])
def test_ctrl_c_while_a_tool_starts_is_one_line(tool, args, delay, tmp_path):
    args = [a.replace("RUN", str(tmp_path / "run")) for a in args]
    if tool == "pinn-train":
        args.append(f"hydra.run.dir={tmp_path / 'run'}")
    proc = subprocess.Popen([_script(tool), *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    _wait_until_torch_loads(proc.pid)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1, err
    if proc.returncode == 130:  # caught while loading, or by the tool's own guard once it runs
        assert "interrupted" in lines[0] and lines[0].startswith(f"{tool}: error: "), err
    else:  # the tool had already finished (refused the missing run directory) before the signal came
        assert proc.returncode in (1, 2), err


def test_a_library_user_keeps_their_keyboard_interrupt(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py"])
    with pytest.raises(KeyboardInterrupt):
        with starting():
            raise KeyboardInterrupt


def test_a_tool_holds_the_signal_to_the_end_of_the_block_then_exits_130(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["/somewhere/bin/pinn-eval", "run"])
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN under a shell's background job
    finished = []
    with pytest.raises(SystemExit) as info:
        with starting():
            signal.raise_signal(signal.SIGINT)
            finished.append(True)  # the block (an import) runs to its end
    assert finished and info.value.code == 130
    assert capsys.readouterr().err.startswith("pinn-eval: error: interrupted (Ctrl-C) while starting")
    assert signal.getsignal(signal.SIGINT) is before  # restored
