"""q-grid engine vs phonopy with the non-analytic correction (phonopy's DFT force sets and BORN files).

The same pipeline as ``bench_qgrid.py`` (mesh, tetrahedron and Gaussian DOS, thermal properties
at 300 K, on phonopy's frequency points) for polar NaCl and ZnO with LO–TO splitting, by Gonze–Lee's
Ewald sum (phonopy's default) and by Wang's method. Each (engine, case) runs in fresh
subprocesses (``REPEATS`` of each, alternating; the fastest first call of each side is compared and
the per-pair ratios are printed beside it), its time including phonax_fast's JIT compilation and
set-up from phonopy's object (a second, warm run beside it); imports and JAX's start-up are not timed.

    python -m benchmarks.bench_nac [CASE ...]                  # table (--help lists the cases)
    python -m pytest benchmarks/bench_nac.py --benchmark-only  # the same through pytest-benchmark

from the repository root (phonopy's data come from its source distribution through
``studies/phonopy_sdist.py``, which fetches it once).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import phonopy

from benchmarks.bench_qgrid import REPOSITORY, accuracy, command_line, run_phonax, run_phonopy
from studies.phonopy_sdist import phonopy_source

CASES = {  # name: (crystal, NAC method, mesh)
    "NaCl-gonze-24": ("NaCl", "gonze", 24),
    "NaCl-gonze-40": ("NaCl", "gonze", 40),
    "NaCl-gonze-64": ("NaCl", "gonze", 64),
    "NaCl-wang-40": ("NaCl", "wang", 40),
    "ZnO-gonze-24": ("ZnO", "gonze", 24),
}
DATA = {  # crystal: (folder of phonopy's sdist, displacements, force sets, BORN)
    "NaCl": ("test", "phonopy_disp_NaCl.yaml", "FORCE_SETS_NaCl", "BORN_NaCl"),  # 2 atoms, 64-atom supercell
    "ZnO": ("example/ZnO", "phonopy_disp.yaml", "FORCE_SETS", "BORN"),  # wurtzite, 4 atoms, 32-atom supercell
}


def phonopy_polar(crystal: str, method: str) -> phonopy.Phonopy:
    """phonopy's DFT data of ``crystal`` with compact force constants and its BORN, NAC by ``method``."""
    folder, disp, forces, born = DATA[crystal]
    d = phonopy_source() / folder
    ph = phonopy.load(d / disp, force_sets_filename=d / forces, born_filename=d / born, produce_fc=True,
                      is_compact_fc=True, log_level=0)
    ph.nac_params = {**ph.nac_params, "method": method}
    return ph


def worker(case: str, engine: str) -> dict:
    """Run one (case, engine) twice in this process: times and results."""
    import jax

    import phonax_fast.qgrid  # noqa: F401  (imports are not timed)

    jax.devices()  # nor is JAX's start-up (finding its backends and plug-ins, ~30 ms): process start-up, like imports
    from phonax_fast.interop.phonopy_import import force_constants_from_phonopy

    crystal, method, mesh = CASES[case]
    ph = phonopy_polar(crystal, method)
    if engine != "phonopy":
        points = json.loads(sys.stdin.read())
        points = [np.asarray(points[k]) for k in ("freq_points", "gaussian_freq_points")]
    times = []
    for _ in range(2):
        start = time.perf_counter()
        if engine == "phonopy":
            result = run_phonopy(ph, mesh)
        else:  # the set-up from phonopy's object (short-range force constants, G vectors) is timed too
            result = run_phonax(force_constants_from_phonopy(ph), mesh, *points)
        times.append(time.perf_counter() - start)
    return {"case": case, "engine": engine, "mesh": mesh, "n_q": result["n_q"], "time_cold": times[0],
            "time_warm": times[1], **{k: np.asarray(v).tolist() for k, v in result.items() if k != "n_q"}}


REPEATS = 3
"""Fresh processes per (case, engine), alternating engines; each side's fastest first call is kept
(the usual guard against the machine's noise: phonopy's time on NaCl 24³ varied 0.18–0.28 s)."""


def measure(case: str, repeats: int = REPEATS) -> tuple[dict, dict]:
    """(phonopy, phonax_fast) results of a case, each from its own subprocesses: the fastest of
    ``repeats`` first calls per engine, with the runs' spread in ``time_cold_all``."""
    def run(engine, stdin=""):
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_nac", "--worker", case, engine], input=stdin,
                             cwd=REPOSITORY, capture_output=True, text=True, check=True)
        return json.loads(out.stdout.splitlines()[-1])

    def fastest(runs):
        best = min(runs, key=lambda r: r["time_cold"])
        return {**best, "time_cold_all": [r["time_cold"] for r in runs]}

    refs, ours = [], []
    for _ in range(repeats):
        refs.append(run("phonopy"))
        ours.append(run("phonax", json.dumps({k: refs[0][k] for k in ("freq_points", "gaussian_freq_points")})))
    return fastest(refs), fastest(ours)


def test_nac_qgrid_vs_phonopy(benchmark, record, case):
    """pytest-benchmark entry: one round of the (subprocess-isolated) comparison per case."""
    ref, ours = benchmark.pedantic(measure, args=(case,), rounds=1, iterations=1)
    group = f"q-grid with NAC {case} ({ours['mesh']}^3, first call)"
    record(group, "phonax_fast", ours["time_cold"], warm_s=ours["time_warm"])
    record(group, "phonopy", ref["time_cold"], baseline="phonax_fast")
    diff = accuracy(ref, ours)
    benchmark.extra_info.update({"mesh": ours["mesh"], "n_q": ours["n_q"], "phonopy_s": ref["time_cold"],
                                 "phonax_s": ours["time_cold"], "speedup": ref["time_cold"] / ours["time_cold"],
                                 "max_differences": diff})
    assert diff["tetrahedron"] < 1e-4 and diff["gaussian"] < 1e-4 and diff["thermal"] < 1e-6


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", list(CASES))


def main(cases) -> None:
    print(f"{'case':14} {'mesh':>4} {'n_q':>5} {'phonopy s':>9} {'ours s':>8} {'warm s':>7} {'speedup':>7}  "
          f"{'per pair':>9}  max diff (tetra, gauss DOS /peak; thermal rel)")
    for case in cases:
        ref, ours = measure(case)
        d = accuracy(ref, ours)
        ratios = [p / o for p, o in zip(ref["time_cold_all"], ours["time_cold_all"])]
        print(f"{case:14} {ours['mesh']:4d} {ours['n_q']:5d} {ref['time_cold']:9.2f} {ours['time_cold']:8.2f} "
              f"{ours['time_warm']:7.2f} {ref['time_cold'] / ours['time_cold']:7.1f}  {min(ratios):4.1f}–{max(ratios):4.1f}  "
              f"{d['tetrahedron']:.1e}, {d['gaussian']:.1e}; {d['thermal']:.1e}", flush=True)


if __name__ == "__main__":
    command_line(__doc__, CASES, lambda name, case: "{}, {}, mesh {}^3".format(*case), worker, main)
