"""The up-front estimate of a mesh run (``qgrid.cost``) against the run itself.

For phonopy's DFT Si (2 atoms, and folded onto 16- and 54-atom cells) and NaCl with its Born
charges, each case in a fresh process: ``estimate_mesh_cost`` (its time, and the memory it
predicts), then ``mesh_dos`` by the tetrahedron method (wall time, growth of peak RSS). The
estimate should tell a 10-second run from a 10-minute one; this prints how close it comes.

    python -m benchmarks.bench_mesh_cost [CASE ...]

from the repository root (phonopy's data come from its source distribution through
``studies/phonopy_sdist.py``).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

from benchmarks.bench_qgrid import REPOSITORY, command_line, folded_phonopy

CASES = {  # name: (crystal, folding of the primitive cell, mesh)
    "Si-2-100": ("Si", (1, 1, 1), 100),
    "Si-2-200": ("Si", (1, 1, 1), 200),
    "Si-16-48": ("Si", (2, 2, 2), 48),
    "Si-54-24": ("Si", (3, 3, 3), 24),
    "Si-128-32": ("Si", (4, 4, 4), 32),
    "NaCl-nac-120": ("NaCl", None, 120),
}


def worker(case: str, engine: str) -> dict:
    import jax

    from benchmarks.bench_nac import phonopy_polar
    from phonax_fast.interop.phonopy_import import force_constants_from_phonopy
    from phonax_fast.qgrid import mesh_dos
    from phonax_fast.qgrid.cost import estimate_mesh_cost

    jax.devices()
    crystal, multiple, mesh = CASES[case]
    ph = folded_phonopy(multiple) if crystal == "Si" else phonopy_polar(crystal, "gonze")
    fcs = force_constants_from_phonopy(ph)
    start = time.perf_counter()
    cost = estimate_mesh_cost(fcs, mesh)
    estimate_s = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    mesh_dos(fcs, mesh, progress=None)
    wall = time.perf_counter() - start
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss
    return {"case": case, "n_atoms": fcs.n_atoms, "n_grid": cost.n_grid, "n_ir_estimated": cost.n_irreducible,
            "estimated_s": cost.seconds, "measured_s": wall, "estimated_gib": cost.memory_bytes / 2**30,
            "rss_growth_gib": growth / 2**30, "estimate_took_s": estimate_s}


def main(cases) -> None:
    print(f"{'case':13} {'atoms':>5} {'grid':>9} {'est. s':>7} {'run s':>7} {'ratio':>6} {'est. GiB':>8} "
          f"{'RSS+ GiB':>8} {'estimate took s':>15}")
    for case in cases:
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_mesh_cost", "--worker", case, "run"],
                             cwd=REPOSITORY, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.splitlines()[-1])
        print(f"{case:13} {r['n_atoms']:5d} {r['n_grid']:9.3g} {r['estimated_s']:7.2f} {r['measured_s']:7.2f} "
              f"{r['estimated_s'] / r['measured_s']:6.2f} {r['estimated_gib']:8.2f} {r['rss_growth_gib']:8.2f} "
              f"{r['estimate_took_s']:15.3f}", flush=True)


if __name__ == "__main__":
    command_line(__doc__, CASES, lambda name, case: f"{case[0]}, mesh {case[2]}^3", worker, main)
