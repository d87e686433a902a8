"""q-grid engine vs phonopy: mesh + total DOS (tetrahedron and Gaussian) + thermal properties at 300 K.

Same force constants (phonopy's DFT Si, folded into larger cells), same Γ-centred mesh, same
frequency points. Each (engine, case) runs once, in a fresh subprocess so that its peak RSS is its
own; the time includes phonax_fast's JIT compilation (a second, warm run is reported beside it).
Si has an inversion centre, so phonax_fast solves the real form of D(q) (``qgrid.inversion``); the
"Hermitian" column is phonax_fast with ``real_form=False``, the path of crystals without one.

    python -m benchmarks.bench_qgrid [CASE ...]               # table of all (or the named) cases; --help lists them
    python -m pytest benchmarks/bench_qgrid.py --benchmark-only  # the same through pytest-benchmark

from the repository root (phonopy's DFT Si comes from its source distribution through
``studies/phonopy_sdist.py``, which fetches it once).

Cases: Si (2 atoms) and cells of 2×2×2, 3×3×3 and 4×4×5 Si primitive cells (16, 54, 160 atoms);
see ``CASES``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import phonopy

from studies.phonopy_sdist import phonopy_source

REPOSITORY = Path(__file__).resolve().parents[1]
CASES = {  # name: (folding of the Si primitive cell, mesh)
    "Si-2": ((1, 1, 1), 40),
    "Si-16": ((2, 2, 2), 16),
    "Si-54": ((3, 3, 3), 10),
    "Si-160": ((4, 4, 5), 6),
}
SIGMA = 0.1  # THz, Gaussian smearing
TEMPERATURES = [300.0]


def phonopy_si() -> phonopy.Phonopy:
    """phonopy's DFT Si (``test/phonopy_params_Si.yaml`` of its sdist) with compact force constants."""
    return phonopy.load(phonopy_source() / "test" / "phonopy_params_Si.yaml", produce_fc=True, is_compact_fc=True,
                        log_level=0)


def folded_phonopy(multiple):
    """phonopy object of the Si primitive cell repeated ``multiple`` times, used as its own supercell.

    Its force constants are the DFT ones of phonopy's Si folded onto the big cell (Γ-point
    supercell force constants), so phonopy and phonax_fast see identical physics.
    """
    from phonopy.structure.cells import get_supercell

    from phonax_fast.interop.phonopy_import import force_constants_from_phonopy

    ph = phonopy_si()
    if tuple(multiple) == (1, 1, 1):
        return ph
    fcs = force_constants_from_phonopy(ph)
    m = np.asarray(multiple)
    big = get_supercell(ph.primitive, np.diag(m))
    prim_index = np.array([list(big.u2s_map).index(k) for k in big.s2u_map])
    offsets = np.rint(big.scaled_positions * m - fcs.scaled_positions[prim_index]).astype(int)
    fc = fcs.fc.reshape(fcs.n_atoms, len(fcs.translations), fcs.n_atoms, 3, 3)
    out = np.zeros((len(big), len(big), 3, 3))
    for a in range(len(big)):
        d = fcs.translations[None, :, :] + offsets[a] - offsets[:, None, :]  # (n_big, N_L, 3)
        image = np.all(d % m == 0, axis=2)
        for b in range(len(big)):
            out[a, b] = fc[prim_index[a], image[b], prim_index[b]].sum(axis=0)
    folded = phonopy.Phonopy(big, supercell_matrix=np.eye(3, dtype=int), primitive_matrix="P", log_level=0)
    folded.force_constants = out
    return folded


def run_phonopy(ph, mesh: int) -> dict:
    """phonopy's pipeline: run_mesh, tetrahedron DOS, Gaussian DOS, thermal properties."""
    ph.run_mesh([mesh] * 3, is_gamma_center=True)
    ph.run_total_dos(use_tetrahedron_method=True)
    tetrahedron = ph.total_dos
    ph.run_total_dos(sigma=SIGMA, use_tetrahedron_method=False)
    gaussian = ph.total_dos
    ph.run_thermal_properties(temperatures=TEMPERATURES, exclude_gamma_acoustic=True)
    thermal = ph.thermal_properties
    return {
        "n_q": len(ph.mesh.qpoints),
        "freq_points": tetrahedron.frequency_points,
        "gaussian_freq_points": gaussian.frequency_points,
        "tetrahedron": tetrahedron.dos,
        "gaussian": gaussian.dos,
        "thermal": np.array([getattr(thermal, k)[0] for k in ("free_energy", "entropy", "heat_capacity")]),
    }


def run_phonax(fcs, mesh: int, freq_points, gaussian_freq_points, real_form: bool = True) -> dict:
    """phonax_fast's pipeline on the same mesh and frequency points (frequencies computed once)."""
    from phonax_fast.qgrid import mesh_frequencies

    freqs = mesh_frequencies(fcs, mesh, progress=None, real_form=real_form)
    thermal = freqs.thermal_properties(TEMPERATURES)
    return {
        "n_q": len(freqs.qmesh.qpoints),
        "tetrahedron": freqs.dos("tetrahedron", freq_points=freq_points)[1],
        "gaussian": freqs.dos("gaussian", sigma=SIGMA, freq_points=gaussian_freq_points)[1],
        "thermal": np.array([thermal[k][0] for k in ("free_energy", "entropy", "heat_capacity")]),
    }


def worker(case: str, engine: str) -> dict:
    """Run one (case, engine) twice in this process; times, peak RSS and the results."""
    import jax

    import phonax_fast.qgrid  # noqa: F401  (imports are not timed)

    jax.devices()  # nor is JAX's start-up (finding its backends and plug-ins, ~30 ms): process start-up, like imports
    from phonax_fast.interop.phonopy_import import force_constants_from_phonopy

    multiple, mesh = CASES[case]
    ph = folded_phonopy(multiple)
    fcs = force_constants_from_phonopy(ph)
    if engine != "phonopy":  # phonopy's frequency points (phonopy's run passes them on stdin)
        points = json.loads(sys.stdin.read())
        points = [np.asarray(points[k]) for k in ("freq_points", "gaussian_freq_points")]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(2):
        start = time.perf_counter()
        if engine == "phonopy":
            result = run_phonopy(ph, mesh)
        else:
            result = run_phonax(fcs, mesh, *points, real_form=engine == "phonax")
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "case": case, "engine": engine, "n_atoms": fcs.n_atoms, "mesh": mesh, "n_q": result["n_q"],
        "time_cold": times[0], "time_warm": times[1], "peak_rss_mb": peak / 1024,
        "rss_growth_mb": (peak - rss_before) / 1024,
        **{k: np.asarray(v).tolist() for k, v in result.items() if k != "n_q"},
    }


def measure(case: str) -> tuple[dict, dict, dict]:
    """(phonopy, phonax_fast, phonax_fast Hermitian) results of a case, each from its own subprocess."""
    def run(engine, stdin=""):
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_qgrid", "--worker", case, engine], input=stdin,
                             cwd=REPOSITORY, capture_output=True, text=True, check=True)
        return json.loads(out.stdout.splitlines()[-1])

    phonopy_result = run("phonopy")
    points = {k: phonopy_result[k] for k in ("freq_points", "gaussian_freq_points")}
    return phonopy_result, run("phonax", json.dumps(points)), run("phonax-hermitian", json.dumps(points))


def accuracy(a: dict, b: dict) -> dict:
    """Largest differences: DOS relative to its peak, thermal properties relative."""
    out = {}
    for key in ("tetrahedron", "gaussian"):
        x, y = np.asarray(a[key]), np.asarray(b[key])
        out[key] = float(np.abs(x - y).max() / np.abs(x).max())
    out["thermal"] = float(np.max(np.abs(np.asarray(b["thermal"]) / np.asarray(a["thermal"]) - 1)))
    return out


def test_qgrid_vs_phonopy(benchmark, record, case):
    """pytest-benchmark entry: one round of the (subprocess-isolated) comparison per case."""
    ref, ours, hermitian = benchmark.pedantic(measure, args=(case,), rounds=1, iterations=1)
    group = f"q-grid {case} ({ours['n_atoms']} atoms, {ours['mesh']}^3, first call)"
    record(group, "phonax_fast", ours["time_cold"], warm_s=ours["time_warm"], peak_MB=round(ours["peak_rss_mb"]))
    record(group, "phonax_fast Hermitian", hermitian["time_cold"], baseline="phonax_fast")
    record(group, "phonopy", ref["time_cold"], baseline="phonax_fast", peak_MB=round(ref["peak_rss_mb"]))
    benchmark.extra_info.update({
        "n_atoms": ours["n_atoms"], "mesh": ours["mesh"], "n_q": ours["n_q"],
        "phonopy_s": ref["time_cold"], "phonax_s": ours["time_cold"], "phonax_warm_s": ours["time_warm"],
        "speedup": ref["time_cold"] / ours["time_cold"], "phonax_hermitian_s": hermitian["time_cold"],
        "speedup_hermitian": ref["time_cold"] / hermitian["time_cold"],
        "phonopy_peak_rss_mb": ref["peak_rss_mb"], "phonax_peak_rss_mb": ours["peak_rss_mb"],
        "max_differences": accuracy(ref, ours),
    })
    for result in (ours, hermitian):
        diff = accuracy(ref, result)
        assert diff["tetrahedron"] < 1e-4 and diff["gaussian"] < 1e-4 and diff["thermal"] < 1e-6


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", list(CASES))


def main(cases) -> None:
    header = (f"{'case':8} {'atoms':>5} {'mesh':>4} {'n_q':>5} {'phonopy s':>9} {'ours s':>8} {'warm s':>7} "
              f"{'speedup':>7} {'Hermitian s':>11} {'speedup':>7} {'phonopy MB':>10} {'ours MB':>8}  "
              f"max diff (tetra, gauss DOS /peak; thermal rel)")
    print(header)
    for case in cases:
        ref, ours, hermitian = measure(case)
        d = accuracy(ref, ours)
        print(f"{case:8} {ours['n_atoms']:5d} {ours['mesh']:4d} {ours['n_q']:5d} {ref['time_cold']:9.2f} "
              f"{ours['time_cold']:8.2f} {ours['time_warm']:7.2f} {ref['time_cold'] / ours['time_cold']:7.1f} "
              f"{hermitian['time_cold']:11.2f} {ref['time_cold'] / hermitian['time_cold']:7.1f} "
              f"{ref['peak_rss_mb']:10.0f} {ours['peak_rss_mb']:8.0f}  "
              f"{d['tetrahedron']:.1e}, {d['gaussian']:.1e}; {d['thermal']:.1e}", flush=True)


def command_line(doc: str, cases: dict, describe, worker, main) -> None:
    """The ``python -m benchmarks.NAME`` entry of a subprocess-isolated comparison: ``--worker CASE
    ENGINE`` prints one run as JSON (``worker(case, engine)``), else ``main(names)`` prints the table
    of the cases named (all by default); ``describe(name, case)`` explains a case in ``--help``."""
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", metavar="CASE", help="cases to run (default all): " + ", ".join(
        f"{name} ({describe(name, case)})" for name, case in cases.items()))
    names = parser.parse_args().cases
    unknown = sorted(set(names) - set(cases))
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(cases)}")
    main(names or list(cases))


if __name__ == "__main__":
    command_line(__doc__, CASES, lambda name, case: f"{'x'.join(map(str, case[0]))} Si cells, mesh {case[1]}^3",
                 worker, main)
