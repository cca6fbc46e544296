"""Each gradient technique on two presets, on against off, on the same shortened budget.

Every comparison is a pair of ``pinn-train`` runs (seed 0, one process each) that differ only in
the technique's overrides; each run's ``metrics.json`` goes into ``experiments/techniques.json``
(pairs not rerun keep their last entry), and the table in ``docs/accuracy.md`` between the
``techniques`` markers is rendered from that file alone.

    python scripts/techniques.py                 # every pair (about 90 minutes on one core)
    python scripts/techniques.py ntk-wave laaf-burgers --threads 1
    python scripts/techniques.py --render        # only re-render the table from techniques.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "techniques.json"
DOC = ROOT / "docs" / "accuracy.md"
START, END = "<!-- techniques:start -->", "<!-- techniques:end -->"

# The shortened budgets: a preset with fewer steps (the same for on and off).
# (A few minutes a run on one core: the first stage's Adam steps matter most to the weighting
# techniques, which act in first-order stages only.)
_BURGERS = ["experiment=burgers", "stages.adam.steps=1000", "stages.quasi_newton.steps=500",
            "resampler.lbfgs_every=1000000", "points.interior=2000"]
_WAVE_SOFT = ["experiment=wave", "hard_constraints=false", "stages.adam.steps=1000", "stages.quasi_newton.steps=300",
              "points.interior=2000"]
_P2C_SOFT = ["experiment=poisson2d_c", "hard_constraints=false", "stages.adam.steps=1000",
             "stages.quasi_newton.steps=300", "points.interior=2000", "points.boundary=800"]
_NS = ["experiment=ns2d_c", "stages.adam.steps=1000", "stages.quasi_newton.steps=300", "points.interior=2000"]
_HEAT = ["experiment=heat", "stages.adam.steps=500", "stages.quasi_newton.steps=500", "hard_constraints=false"]
_AC = ["experiment=allen_cahn", "stages.adam.steps=500", "stages.quasi_newton.steps=300", "resampler.lbfgs_every=1000000",
       "points.interior=2000"]

# name: (technique, preset label, base overrides, the technique's overrides)
PAIRS = {
    "ntk-wave": ("NTK weights (`weighting=ntk`)", "wave, soft constraints", _WAVE_SOFT, ["weighting=ntk"]),
    "ntk-poisson2d_c": ("NTK weights (`weighting=ntk`)", "poisson2d_c, soft constraints", _P2C_SOFT, ["weighting=ntk"]),
    "laaf-ns2d_c": ("LAAF (`model.adaptive=layer`)", "ns2d_c", _NS, ["model.adaptive=layer"]),
    "laaf-burgers": ("LAAF (`model.adaptive=layer`)", "burgers", _BURGERS, ["model.adaptive=layer"]),
    "gaaf-burgers": ("GAAF + slope recovery (`model.adaptive=global loss.slope_recovery=0.01`)", "burgers",
                     _BURGERS, ["model.adaptive=global", "loss.slope_recovery=0.01"]),
    "gpinn-burgers": ("gPINN (`loss.gradient_weight=0.01`)", "burgers", _BURGERS, ["loss.gradient_weight=0.01"]),
    "gpinn-heat": ("gPINN (`loss.gradient_weight=0.01`)", "heat, soft constraints", _HEAT, ["loss.gradient_weight=0.01"]),
    "clip-burgers": ("point clipping (`loss.point_clip=10`)", "burgers", _BURGERS, ["loss.point_clip=10"]),
    "clip-allen_cahn": ("point clipping (`loss.point_clip=10`)", "allen_cahn", _AC, ["loss.point_clip=10"]),
}


def _run(name: str, overrides: list[str], threads: int | None) -> dict:
    run_dir = ROOT / "experiments" / "runs" / "techniques" / name
    shutil.rmtree(run_dir, ignore_errors=True)
    cmd = [sys.executable, "-m", "pinn.cli.train", *overrides, "plots=false", f"hydra.run.dir={run_dir}"]
    if threads:
        cmd.append(f"threads={threads}")
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        return {"failed": (out.stderr.strip().splitlines() or ["?"])[-1]}
    m = json.loads((run_dir / "metrics.json").read_text())
    return {k: m[k] for k in ("rel_l2", "train_seconds", "threads") if k in m}


def _render(results: dict) -> str:
    lines = ["| technique | preset (shortened) | off: rel. L2 | on: rel. L2 | on / off | off: s | on: s |",
             "|---|---|---|---|---|---|---|"]
    for name, (tech, label, _, _) in PAIRS.items():
        r = results.get(name)
        if not r:
            continue
        off, on = r["off"], r["on"]
        if "failed" in off or "failed" in on:
            lines.append(f"| {tech} | {label} | {off.get('rel_l2', off.get('failed'))} | "
                         f"{on.get('rel_l2', on.get('failed'))} | - | - | - |")
            continue
        lines.append(f"| {tech} | {label} | {off['rel_l2']:.2e} | {on['rel_l2']:.2e} | "
                     f"{on['rel_l2'] / off['rel_l2']:.2f} | {off['train_seconds']:.0f} | {on['train_seconds']:.0f} |")
    machine = {r.get("machine") for r in results.values() if r.get("machine")}
    lines += ["", f"Seed 0, one process per run; machine: {', '.join(sorted(machine)) or '?'}. "
              "Below 1 in the ratio column, the technique helped. Produced by `python scripts/techniques.py`."]
    return "\n".join(lines)


def _write_doc(table: str) -> None:
    text = DOC.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{DOC} has no {START} ... {END} block for the table")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{table}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"pairs to run (default all): {', '.join(PAIRS)}")
    parser.add_argument("--threads", type=int, help="torch threads per run (e.g. 1 beside other jobs)")
    parser.add_argument("--render", action="store_true", help="only re-render the table")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(PAIRS))
    if unknown:
        raise SystemExit(f"unknown pairs {unknown}; choose from {list(PAIRS)}")
    for name in ([] if args.render else args.names or list(PAIRS)):
        _, _, base, extra = PAIRS[name]
        pair = {"off": _run(name + "-off", base, args.threads), "on": _run(name + "-on", base + extra, args.threads),
                "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, "
                           f"{args.threads or 'auto'} thread(s)"}
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}  # re-read: runs side by side
        results[name] = pair
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        print(name, pair, flush=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    table = _render(results)
    _write_doc(table)
    print(table)


if __name__ == "__main__":
    main()
