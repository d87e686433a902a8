"""Force constants of 1,000-atom cells: time (cold and warm) and peak memory, each case in a fresh process.

    python -m benchmarks.bench_large_cells [CASE ...]

Cases:
  demo-si1000        Si 5×5×5 conventional cells (1,000 atoms, symmetric), the bundled demo model,
                     construction "auto"; run twice in one process: cold (compilation included) and warm.
  demo-si1000-sc     the same with the supercell construction on the cell itself (1×1×1).
  deep-rattled-si1000  the same cell rattled (no symmetry: 3,000 Hessian rows) with a random
                     4-layer, 64-channel NequIP (l_max 1, r_c 4.5 Å), supercell construction 1×1×1.
Prints one line per case: seconds of each run, peak RSS (GiB, ``resource.getrusage``) and the
force-constant report.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CASES = ("demo-si1000", "demo-si1000-sc", "deep-rattled-si1000")


def run_case(case: str) -> dict:
    """Run one case in this process; {"seconds": [...], "peak_rss_gib": float, "report": str}."""
    from ase.build import bulk

    import phonax_fast as pf

    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((5, 5, 5))
    if case.startswith("demo"):
        model, runs = pf.models.load("demo"), 2
    else:
        atoms.rattle(0.03, seed=0)
        model, runs = pf.models.NequIP.init(["Si"], cutoff=4.5, num_layers=4, lmax=1, channels=64, seed=0), 1
    kwargs = {"construction": "supercell", "supercell": (1, 1, 1)} if case != "demo-si1000" else {}
    seconds, report = [], None
    for _ in range(runs):
        start = time.perf_counter()
        _, report = pf.forceconstants.crystal_force_constants(atoms, model, **kwargs)
        seconds.append(time.perf_counter() - start)
    return {"seconds": seconds, "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "report": report.summary()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", default=list(CASES[:2]), choices=CASES)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)  # run one case here, print JSON
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(run_case(args.cases[0])))
        return
    for case in args.cases:
        done = subprocess.run([sys.executable, "-m", "benchmarks.bench_large_cells", "--inside", case],
                              capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        times = " / ".join(f"{s:.1f} s" for s in result["seconds"])
        print(f"{case}: {times} (cold{' / warm' if len(result['seconds']) > 1 else ''}), peak RSS "
              f"{result['peak_rss_gib']:.2f} GiB")
        print("   " + result["report"].replace("\n", "\n   "))


if __name__ == "__main__":
    main()
