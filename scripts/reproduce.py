"""Run the experiment presets and write ``experiments/RESULTS.md`` from what they measured.

Each preset is one ``pinn-train experiment=NAME`` run (seed 0) in its own process, in
``experiments/runs/NAME``, emptied first (pinn-train would refuse a directory left by an
interrupted run).  Its ``metrics.json`` goes into ``experiments/results.json`` (runs not repeated
keep their last entry), and the table in ``experiments/RESULTS.md`` is rendered from that file
alone, so nobody types a figure into it.

    python scripts/reproduce.py                      # every preset (hours on 2 cores)
    python scripts/reproduce.py burgers heat         # some of them
    python scripts/reproduce.py --suite pinnacle     # the PINNacle suite's presets
    python scripts/reproduce.py --render             # only re-render RESULTS.md from results.json

RESULTS.md has one table of every preset, and one of the PINNacle suite: each of its problems
with PINNacle's vanilla-PINN figure and its best published one (with the method), ours beside
them, and, for a problem without a preset, why.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
RESULTS_JSON = EXPERIMENTS / "results.json"
RESULTS_MD = EXPERIMENTS / "RESULTS.md"

#: What a preset's figure depends on: a row recorded before the last commit that changed one of
#: these (or the preset's own YAML) is stale.
TRAINING_CODE = ("pinn/training", "pinn/diff", "pinn/nets")


def _git(*args: str) -> str | None:
    """``git ARGS`` in the repository, stripped; ``None`` where git or the repository is missing."""
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def current_commit() -> str | None:
    """The commit the presets run at, with ``+dirty`` when the training code differs from it."""
    head = _git("rev-parse", "HEAD")
    if head is None:
        return None
    # the presets' YAML, not this script's own outputs (results.json, RESULTS.md, runs/), which it
    # rewrites after every run: counting them marked every run after a sweep's first as dirty
    dirty = _git("status", "--porcelain", "--", *TRAINING_CODE, "experiments/*.yaml")
    return head + ("+dirty" if dirty else "")


def staleness(name: str, entry: dict) -> str | None:
    """Why the row of ``name`` is stale, or ``None``: it was recorded before the last change to the
    training code (pinn/training, pinn/diff, pinn/nets) or to the preset's YAML."""
    preset = PRESETS[name][0]
    last = _git("log", "-1", "--format=%H", "--", *TRAINING_CODE, f"experiments/{preset}.yaml")
    recorded = entry.get("commit")
    if last is None:
        return None  # no history to judge by (an exported tree)
    if not recorded:
        return f"recorded before commits were recorded; the training code last changed at {last[:8]}"
    if recorded.endswith("+dirty"):
        return f"recorded from uncommitted training code at {recorded[:8]}"
    if _git("merge-base", "--is-ancestor", last, recorded) is None:
        return f"recorded at {recorded[:8]}, before the training code changed at {last[:8]}"
    return None


#: What a re-recorded row keeps of the row it replaces (RESULTS.md shows it beside the new one).
PREVIOUS_KEYS = ("rel_l2", "rel_l2_fields", "errors_percent", "train_seconds", "commit", "date", "machine")


def with_previous(old: dict | None, new: dict) -> dict:
    """``new`` with ``previous``: the figures of the row it replaces (one level: not that row's own)."""
    if not old or "rel_l2" not in old:
        return new
    return {**new, "previous": {k: old[k] for k in PREVIOUS_KEYS if k in old}}


def _before(r: dict) -> str:
    p = r.get("previous")
    if not p:
        return ""
    if "errors_percent" in p:
        figure = " / ".join(f"{k} {v:.2g}%" for k, v in p["errors_percent"].items())
    else:
        figure = f"{p['rel_l2']:.2e}"
    return f"{figure} in {p['train_seconds']:.0f} s ({str(p.get('commit', '?'))[:8]})"


def difference(old: dict | None, new: dict) -> str:
    """One line comparing a re-run with the row it replaces."""
    if not old or "rel_l2" not in old or "rel_l2" not in new:
        return "no earlier figure to compare with"
    change = (new["rel_l2"] - old["rel_l2"]) / old["rel_l2"]
    return (f"rel. L2 {new['rel_l2']:.3e} now, {old['rel_l2']:.3e} recorded ({change:+.1%}; recorded at "
            f"{str(old.get('commit', 'an unrecorded commit'))[:8]} on {old.get('date', '?')})")

# name: (preset, extra overrides, problem, target, budget, published figure and source)
PRESETS = {
    "burgers": ("burgers", [], "Raissi's Burgers, nu = 0.01/pi", "<= 1e-4", "10 min",
                "6.7e-4 (Raissi et al. 2019)"),
    "wave": ("wave", [], "Wave1d-C, c = 2", "<= 1e-3", "30 min",
             "1.7e-3 to 3.9e-3 (NTK weighting, Wang et al. 2022); vanilla about 0.5"),
    "heat": ("heat", [], "1-D heat, alpha = 0.4", "<= 1e-5", "5 min", "none"),
    "heat2d_ms": ("heat2d_ms", [], "PINNacle Heat2d-MS", "<= 1e-2", "30 min", "6.2e-2 (PINNacle)"),
    "burgers_inverse": ("burgers_inverse", [], "Raissi's identification, clean data", "<= 0.05% each", "-",
                        "0.085% / 0.12% (Raissi et al. 2019)"),
    "burgers_inverse_noise": ("burgers_inverse", ["data.noise=0.01"], "Raissi's identification, 1% noise",
                              "<= 0.5% each", "-", "0.042% / 0.84% (Raissi et al. 2019)"),
    "allen_cahn": ("allen_cahn", [], "Allen-Cahn, eps = 1e-4, periodic", "report", "-",
                   "5.4e-5 (jaxpi), 2.2e-5 (PirateNets)"),
    "poisson": ("poisson", [], "2-D Poisson, steady", "report", "-", "none (manufactured solution)"),
    "kovasznay": ("kovasznay", [], "Kovasznay flow, Re = 20 (u, v, p)", "<= 1e-4", "15 min", "-"),
    "pnd": ("pnd", [], "PINNacle PNd: 5-D Poisson", "<= 1e-4", "15 min", "4.58e-4 (LRA; vanilla 3.04e-3)"),
    "hnd": ("hnd", [], "PINNacle HNd: heat on the 5-D ball, du/dn = u", "<= 3e-5", "15 min",
            "1.19e-4 (Adam + L-BFGS; vanilla 3.61e-1)"),
    "poisson2d_c": ("poisson2d_c", [], "PINNacle Poisson2d-C: Laplace on a plate with 4 holes", "<= 1e-3", "20 min",
                    "1.23e-2 (NTK; vanilla 6.94e-1)"),
    "ns2d_c": ("ns2d_c", [], "PINNacle NS2d-C: lid-driven cavity, nu = 0.01 (u, v, p)", "<= 5e-3", "30 min",
               "3.60e-2 (LAAF; vanilla 4.70e-2)"),
    "schrodinger": ("schrodinger", [], "Nonlinear Schrodinger, Raissi et al. 2019 (u, v)", "<= 5e-4", "30 min",
                    "1.97e-3 on abs(h) (Raissi et al. 2019)"),
    "hinv": ("hinv", [], "PINNacle HInv: u and a(x, y) from 2,500 noisy u", "u <= 5e-3, a <= 1e-2", "30 min",
             "1.19e-2 (hp-VPINN) or 5.09e-2 (LRA); vanilla 1.57"),
    "taylor_green": ("taylor_green", [], "Taylor-Green vortex, nu = 0.1 (u, v, p; unsteady)", "report", "-", "-"),
    "pinv": ("pinv", [], "PINNacle PInv, consistent source: u and a(x, y) from 2,500 noisy u", "u <= 4e-3, a <= 4e-3",
             "30 min", "1.96e-2 (vPINN; RoPINN's rerun could not reproduce it)"),
    "heat2d_cg": ("heat2d_cg", [], "PINNacle Heat2d-CG: heat on a plate with 17 holes, Robin conditions", "<= 4e-3",
                  "30 min", "2.0e-2 (PINNacle, against its COMSOL solution; ours against our own P2 solve)"),
    "poisson2d_ms": ("poisson2d_ms", [], "PINNacle Poisson2d-MS: 5 x 5 blocks of a from 0.13 to 87.9, du/dn = -u",
                     "<= 5e-2", "30 min", "4.7e-1 (PINNacle's strong form; ours is the divergence form its "
                                          "reference solves)"),
    "poisson3d_cg": ("poisson3d_cg", [], "PINNacle Poisson3d-CG: -Lap(u) + k^2 u = f on the cube minus 4 balls, k = 8 / 10 "
                     "across z = 1/2, du/dn = 0", "<= 1e-2", "30 min", "1.02e-1 (LRA); 7.2e-2 in a later preprint"),
    "gs": ("gs", [], "PINNacle GS: Gray-Scott u and v over t in [0, 200], time marching in 10 windows", "<= 1.6e-2",
           "60 min", "8.0e-2 (FBPINN)"),
    "wave2d_ms": ("wave2d_ms", [], "Wave2d-MS, consistent: 2-D standing waves over t in [0, 100], time marching in "
                  "200 windows", "<= 5e-2", "60 min", "about 1 (on PINNacle's inconsistent problem)"),
}

# PINNacle's problems (../shared/data/pinnacle/README.md, REFERENCES.md): preset (or None, with
# why), vanilla PINN, best published (method).  Issue 16's targets are the PRESETS rows'.
PINNACLE = {
    "Burgers1d-C": ("burgers", "1.45e-2", "1.33e-2 (Adam + L-BFGS), measured against a file itself 1.33e-2 off "
                                          "the exact solution; ours is against the exact one"),
    "Wave1d-C": ("wave", "about 0.5", "9.79e-2 (5x100 network; secondary source)"),
    "Heat2d-MS": ("heat2d_ms", "6.21e-2", "6.21e-2 (vanilla; REFERENCES.md) or 1.73e-2 (issue 16): sources disagree"),
    "Poisson2d-C": ("poisson2d_c", "6.94e-1", "1.23e-2 (NTK)"),
    "NS2d-C": ("ns2d_c", "4.70e-2", "3.60e-2 (LAAF)"),
    "PNd": ("pnd", "3.04e-3", "4.58e-4 (LRA)"),
    "HNd": ("hnd", "3.61e-1", "1.19e-4 (Adam + L-BFGS)"),
    "HInv": ("hinv", "1.57e+0", "1.19e-2 (hp-VPINN) or 5.09e-2 (LRA): main table and appendix disagree"),
    "PInv": ("pinv", "-", "1.96e-2 (vPINN; RoPINN could not reproduce it), on PINNacle's inconsistent source term "
                          "((2x+1) for (2x-1)); ours solves the consistent problem. u's target is at the noise floor: a "
                          "least-squares fit told u up to its amplitude has rms 4.25e-3 over noise draws, 16 free "
                          "modes 1.64e-2 (scripts/pinv_noise_floor.py)"),
    "Heat2d-LT": (None, "9.99e-1", "9.99e-1 (every method fails)",
                  "no preset: pde=heat2d_lt exists; a time-marching prototype (scripts/heat_longtime_marching.py) "
                  "reached 0.41 at t = 1 after 16 minutes; the table itself is 3.5e-2 off a converged "
                  "finite-difference solve (docs/accuracy.md); time marching is #32"),
    "Heat2d-VC": (None, "-", "2.12e-1, on PINNacle's strong form a Lap(u), whose own solution is 0.209 from the table",
                  "no preset yet: pde=heat2d_vc exists in the divergence form the table solves (the table is 8.0e-3 "
                  "from our converged finite-volume solve); first runs 0.61 (divergence form) and 0.26 (mixed form, "
                  "u and the flux a grad u as outputs), target 2e-2 (docs/accuracy.md)"),
    "Poisson2d-MS": ("poisson2d_ms", "-", "4.7e-1, on PINNacle's strong form a Lap(u) + f, about 1.45 from its "
                                          "reference; ours is the divergence form, scored on our own finite-volume "
                                          "solve (400 and 800 cells agree to 1.5e-3)"),
    "Heat2d-CG": ("heat2d_cg", "-", "2.0e-2, against PINNacle's COMSOL solution (P2, largest element 0.24); ours "
                                    "is against our own P2 finite-element solve (h = 0.2 and 0.1 agree to 1.9e-4; "
                                    "8.5e-4 from COMSOL's values at 15 of its nodes; docs/accuracy.md)"),
    "Poisson3d-CG": ("poisson3d_cg", "-", "1.02e-1 (LRA); 7.2e-2 in a later preprint; against PINNacle's COMSOL "
                                          "solution, ours against our own P2 tetrahedral solve (1.75e-3 from COMSOL's "
                                          "values at 78 of its nodes; docs/accuracy.md)"),
    "Burgers2d-C": (None, "-", "2.6e-1", "not built yet (#31): needs an own pseudo-spectral solve from PINNacle's "
                                         "initial fields (seed 20220722); with nu = 1e-3 its shocks are about 1e-3 "
                                         "wide, so 2,048-4,096 modes per side: hours on 2 cores"),
    "NS2d-LT": (None, "-", "9.7e-1", "needs time marching (#32)"),
    "Wave2d-CG": (None, "-", "7.9e-1", "needs time marching (#32)"),
    "Wave2d-MS": ("wave2d_ms", "-", "about 1, on PINNacle's inconsistent problem (its 'exact' solution solves "
                                    "u_tt + u_xx + 2 u_yy = 0); ours is the coded u_tt = u_xx + 2 u_yy with standing "
                                    "waves at PINNacle's wavenumbers, exact"),
    "GS": ("gs", "-", "8.0e-2 (FBPINN), against PINNacle's lost file; ours is against our own 2-D ETDRK4 solve "
                      "(256 and 512 modes agree to 1.7e-4 in v)"),
    "KS": (None, "-", "9.6e-1", "no preset yet: pde=ks exists, scored on our own ETDRK4 solve (converged to 3e-6); "
                                "needs time marching (#32)"),
    "NS2d-CG": (None, "-", "-", "kept back for outside checks of the user's way (a user's own PDE and shape): not a "
                                "built-in or preset"),
    "Poisson2d-CG": (None, "-", "-", "kept back for outside checks of the user's way: not a built-in or preset"),
    "Kovasznay (not in PINNacle's table)": ("kovasznay", "-", "-"),
    "Schrodinger (Raissi et al. 2019; not in PINNacle's table)": ("schrodinger", "-", "1.97e-3 on abs(h) (Raissi et al.)"),
}
SUITES = {"pinnacle": [v[0] for v in PINNACLE.values() if v[0] is not None]}


def machine(threads: int | None = None) -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores {cpu}, torch {torch.__version__}, {threads or torch.get_num_threads()} threads"


def run(name: str, threads: int | None = None) -> dict:
    preset, extra, *_ = PRESETS[name]
    if threads:
        extra = [*extra, f"threads={threads}"]
    run_dir = EXPERIMENTS / "runs" / name
    shutil.rmtree(run_dir, ignore_errors=True)  # the last recorded run of this preset; results.json keeps its figures
    cmd = [sys.executable, "-m", "pinn.cli.train", f"experiment={preset}", f"hydra.run.dir={run_dir.relative_to(ROOT)}",
           "seed=0", *extra]
    print("$ " + " ".join(cmd[1:]), flush=True)
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    print(out.stdout[-1500:], flush=True)
    entry = {"command": "pinn-train " + " ".join(cmd[3:]), "date": datetime.date.today().isoformat(),
             "machine": machine(threads), "wall_seconds": wall, "commit": current_commit()}
    metrics_file = run_dir / "metrics.json"
    if out.returncode != 0 or not metrics_file.exists():
        entry["failed"] = (out.stdout.strip().splitlines() or ["no output"])[-1]
        return entry
    metrics = json.loads(metrics_file.read_text())
    entry.update({k: metrics[k] for k in ("rel_l2", "max_abs_error", "train_seconds", "seed", "adam_steps",
                                          "lbfgs_steps") if k in metrics})
    per_field = {k[len("rel_l2_"):]: v for k, v in metrics.items() if k.startswith("rel_l2_")}
    if per_field:
        entry["rel_l2_fields"] = per_field
    if "learned" in metrics:
        from omegaconf import OmegaConf

        truth = OmegaConf.load(run_dir / ".hydra" / "config.yaml").pde
        entry["learned"] = metrics["learned"]
        entry["errors_percent"] = {k: 100 * abs(v - truth[k]) / abs(truth[k]) for k, v in metrics["learned"].items()}
    return entry


def met(r: dict, target: str, budget: str) -> str:
    """``yes``/``no`` against the target (``<= X`` on rel. L2, ``<= X% each`` on the learned
    coefficients, or ``u <= X, a <= Y`` per field) and the wall-clock budget (``N min``); ``-``
    where there is no target."""
    if "failed" in r:
        return "no"
    if ", " in target:  # per field: "u <= 5e-3, a <= 1e-2"
        fields = r.get("rel_l2_fields", {})
        pairs = [part.split(" <= ") for part in target.split(", ")]
        ok = all(field in fields and fields[field] <= float(bound) for field, bound in pairs)
        in_time = budget == "-" or r["wall_seconds"] <= 60 * float(budget.split()[0])
        return "yes" if ok and in_time else "no"
    if not target.startswith("<="):
        return "-"
    bound = float(target[2:].split("%")[0])
    values = list(r["errors_percent"].values()) if "errors_percent" in r else [r["rel_l2"]]
    in_time = budget == "-" or r["wall_seconds"] <= 60 * float(budget.split()[0])
    return "yes" if in_time and all(v <= bound for v in values) else "no"


def render(results: dict) -> str:
    lines = [
        "# Results of the experiment presets",
        "",
        "Written by `python scripts/reproduce.py` from `experiments/results.json`; do not edit by hand.",
        "Each row is one `pinn-train experiment=NAME` run with seed 0 on the machine named.",
        "",
        "A row recorded before the last change to the training code (pinn/training, pinn/diff,",
        "pinn/nets) or to the preset's YAML is marked **stale**: its figure may no longer be what the",
        "code gives. `python scripts/reproduce.py NAME` re-runs it and prints the difference.",
        "",
        "The column *before* gives the row this one replaced (its figure, training time and commit), so a",
        "re-recording shows what a change of the training code did to both.",
        "",
        "| preset | problem | ours | target | met | train time | before | wall time | seed | published | "
        "machine, date |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (_, _, problem, target, budget, published) in PRESETS.items():
        r = results.get(name)
        if r is None:
            lines.append(f"| `{name}` | {problem} | not run yet | {target} | | | | | | {published} | |")
            continue
        if "failed" in r:
            ours = f"failed: {r['failed']}"
        elif "errors_percent" in r:
            ours = " / ".join(f"{k} {v:.2g}%" for k, v in r["errors_percent"].items()) + f" (u rel. L2 {r['rel_l2']:.2e})"
        else:
            ours = f"rel. L2 {r['rel_l2']:.2e}"
            if r.get("rel_l2_fields"):
                ours += " (" + ", ".join(f"{k} {v:.2e}" for k, v in r["rel_l2_fields"].items()) + ")"
        why = staleness(name, r)
        if why:
            ours += f" **stale**: {why}"
        train = f"{r['train_seconds']:.0f} s" if "train_seconds" in r else ""
        budget_note = f" (budget {budget})" if budget != "-" else ""
        lines.append(f"| `{name}` | {problem} | {ours} | {target}{budget_note} | {met(r, target, budget)} | {train} | "
                     f"{_before(r)} | {r['wall_seconds']:.0f} s | "
                     f"{r.get('seed', '')} | {published} | {r['machine']}, {r['date']} |")
    lines += ["", "## The PINNacle suite", "",
              "`python scripts/reproduce.py --suite pinnacle`. Rel. L2 over all fields together, each field's "
              "beside it; PINNacle's figures are its mean over runs on GPUs, ours one seed on the machine named.", "",
              "| problem | preset | ours | vanilla PINN | best published (method) | met issue 16's target |",
              "|---|---|---|---|---|---|"]
    for problem, (name, vanilla, best, *why) in PINNACLE.items():
        r = results.get(name) if name else None
        if name is None:
            lines.append(f"| {problem} | - | {why[0]} | {vanilla} | {best} | no |")
        elif r is None or "failed" in r:
            lines.append(f"| {problem} | `{name}` | {'not run yet' if r is None else 'failed'} | {vanilla} | {best} | no |")
        else:
            fields = r.get("rel_l2_fields")
            ours = f"{r['rel_l2']:.2e}" + (" (" + ", ".join(f"{k} {v:.2e}" for k, v in fields.items()) + ")"
                                           if fields else "")
            _, _, _, target, budget, _ = PRESETS[name]
            lines.append(f"| {problem} | `{name}` | {ours} | {vanilla} | {best} | {met(r, target, budget)} "
                         f"({target}{', ' + budget if budget != '-' else ''}) |")
    lines += ["", "Commands:", ""] + [f"- `{name}`: `{r['command']}`" for name, r in results.items()]
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help=f"presets to run (default: all): {', '.join(PRESETS)}")
    p.add_argument("--render", action="store_true", help="only re-render RESULTS.md")
    p.add_argument("--suite", choices=sorted(SUITES), help="run a suite's presets (after any named)")
    p.add_argument("--threads", type=int, help="torch threads per run (default: threads=auto); with two "
                   "reproduce.py processes side by side on 2 cores, give each --threads 1")
    args = p.parse_args()
    if args.suite:
        args.names = list(dict.fromkeys(args.names + SUITES[args.suite]))
    unknown = [n for n in args.names if n not in PRESETS]
    if unknown:
        p.error(f"unknown presets {unknown}; choose from {', '.join(PRESETS)}")
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    if not args.render:
        for name in args.names or list(PRESETS):
            entry = run(name, args.threads)
            # re-read: another reproduce.py may have recorded other presets meanwhile
            results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
            print(f"{name}: {difference(results.get(name), entry)}", flush=True)
            results[name] = with_previous(results.get(name), entry)
            RESULTS_JSON.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
            RESULTS_MD.write_text(render(results))
    RESULTS_MD.write_text(render(results))
    print(f"wrote {RESULTS_MD}")


if __name__ == "__main__":
    main()
