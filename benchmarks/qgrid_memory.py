"""Peak memory of the q-grid engine as the mesh grows (16-atom cell: phonopy's DFT Si folded 2×2×2).

Each mesh runs in a fresh subprocess without symmetry reduction (every grid point is solved):
total DOS (tetrahedron), thermal properties and the per-atom projected DOS (Gaussian; it needs
eigenvectors, which are made and dropped chunk by chunk). Printed: peak RSS, its growth over the
process after imports, and what holding all eigenvectors at once would take.

    python -m benchmarks.qgrid_memory [10 20 40]     # from the repository root
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
MULTIPLE = (2, 2, 2)


def worker(mesh: int) -> dict:
    from benchmarks.bench_qgrid import folded_phonopy

    from phonax_fast.interop.phonopy_import import force_constants_from_phonopy
    from phonax_fast.qgrid import mesh_dos, mesh_projected_dos, mesh_thermal_properties

    fcs = force_constants_from_phonopy(folded_phonopy(MULTIPLE))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    mesh_dos(fcs, mesh, symmetry=False, progress=None)
    mesh_thermal_properties(fcs, mesh, [300], symmetry=False, progress=None)
    mesh_projected_dos(fcs, mesh, method="gaussian", progress=None)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n_modes = 3 * fcs.n_atoms
    return {
        "mesh": mesh, "n_atoms": fcs.n_atoms, "n_q": mesh**3, "seconds": time.perf_counter() - start,
        "peak_rss_mb": peak / 1024, "growth_mb": (peak - baseline) / 1024,
        "all_eigenvectors_mb": mesh**3 * n_modes**2 * 16 / 2**20,
    }


def main(meshes) -> None:
    print(f"{'mesh':>6} {'n_q':>7} {'atoms':>5} {'seconds':>8} {'peak RSS MB':>11} {'growth MB':>9} "
          f"{'all eigenvectors MB':>19}")
    for mesh in meshes:
        out = subprocess.run([sys.executable, "-m", "benchmarks.qgrid_memory", "--worker", str(mesh)], cwd=REPOSITORY,
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.splitlines()[-1])
        print(f"{r['mesh']:>4}^3 {r['n_q']:7d} {r['n_atoms']:5d} {r['seconds']:8.1f} {r['peak_rss_mb']:11.0f} "
              f"{r['growth_mb']:9.0f} {r['all_eigenvectors_mb']:19.0f}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(int(sys.argv[2]))))
    else:
        main([int(m) for m in sys.argv[1:]] or [10, 20, 40])
