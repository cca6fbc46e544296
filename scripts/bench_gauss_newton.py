"""The Gauss-Newton stage against the presets' schedules: error reached and training time.

For each preset it trains, as separate ``pinn-train`` processes with the same seed:

* ``preset``: the recorded schedule (Adam, then self-scaled BFGS);
* ``+lm``: the same, then ``--lm`` Levenberg-Marquardt iterations (``stages=adam_lm``);
* ``half+lm``: half the quasi-Newton steps, then ``--lm`` Levenberg-Marquardt iterations.

and prints a markdown table of rel. L2 error, training seconds and error x seconds.  Run it alone
(or name ``--threads`` and say what ran beside it): the times are the point.

    python scripts/bench_gauss_newton.py heat poisson --lm 50 --threads 1
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

from _train_process import ROOT, train_process  # scripts/, on the path of a script run from it



def _preset_steps(name: str) -> int:
    """The preset's quasi-Newton steps, read from its YAML (the schedule's own default otherwise)."""
    import yaml

    cfg = yaml.safe_load((ROOT / "experiments" / f"{name}.yaml").read_text())
    return int(((cfg.get("stages") or {}).get("quasi_newton") or {}).get("steps", 2000))


def _train(name: str, extra: list[str], threads: int, where: Path) -> dict:
    return train_process([f"experiment={name}", *extra], where / f"{name}-{len(list(where.iterdir()))}", threads)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="+")
    parser.add_argument("--lm", type=int, default=50, help="Levenberg-Marquardt iterations")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {args.threads} thread(s), python {sys.version.split()[0]}")
    print("\n| preset | schedule | rel. L2 | training s | rel. L2 x s |\n|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        for name in args.presets:
            half = _preset_steps(name) // 2
            lm = ["stages=adam_lm", f"stages.gauss_newton.steps={args.lm}"]
            for label, extra in (("preset", []), (f"+{args.lm} lm", lm),
                                 (f"{half} qn +{args.lm} lm", [*lm, f"stages.quasi_newton.steps={half}"])):
                m = _train(name, extra, args.threads, where)
                print(f"| {name} | {label} | {m['rel_l2']:.3e} | {m['train_seconds']:.0f} | "
                      f"{m['rel_l2'] * m['train_seconds']:.2e} |", flush=True)


if __name__ == "__main__":
    main()
