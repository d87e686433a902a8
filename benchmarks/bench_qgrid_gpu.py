"""q-grid engine on an accelerator: wall time against the number of q-points.

For Si (phonopy's DFT force constants, saved with ``--save``) and cells made of 2×2×2 and 4×4×5
copies of it, full meshes (no symmetry, n_q = n³) are solved with ``eigensolver="jax"`` on
``jax.devices()`` and, where cupy sees a GPU, with ``eigensolver="cupy"`` (both are recorded; the
cupy path stays in the package only if it is the faster), in the real symmetric form of D(q) and
in the Hermitian one (``real_form``); each row times the frequency pass (D(q) + eigh on the
device, after a warm-up that compiles the chunk's shape) and the host-side tetrahedron DOS,
Gaussian DOS and thermal properties that follow.

    python -m benchmarks.bench_qgrid_gpu --save si.npz        # here, from the repository root: phonopy's Si → npz
    python benchmarks/bench_qgrid_gpu.py si.npz results.json [budget_s]  # on the GPU machine
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

CASES = {  # name: (copies of the Si primitive cell, mesh numbers)
    "Si-2": ((1, 1, 1), (16, 32, 64)),
    "Si-16": ((2, 2, 2), (8, 16, 24)),
    "Si-160": ((4, 4, 5), (2, 4)),
}


def supercell_force_constants(fcs, multiple):
    """The same crystal described by a cell of ``multiple`` (3,) copies of ``fcs``'s cell.

    Atom I = (i, o) is atom i of ``fcs`` in the copy at offset o; its force constant with atom
    J = (j, o') in the big cell translated by L is Φ(i, 0; j, o' + M·L − o), so the big cell's
    frequencies are exactly those of ``fcs`` folded.
    """
    from phonax_fast.harmonic.force_constants import ForceConstants

    m = np.asarray(multiple)
    offsets = np.array(np.meshgrid(*[np.arange(k) for k in m], indexing="ij")).reshape(3, -1).T  # (n_c, 3)
    n, n_c = fcs.n_atoms, len(offsets)
    fc = fcs.fc.reshape(n, len(fcs.translations), n, 3, 3)
    index = {tuple(t): k for k, t in enumerate(fcs.translations)}
    big_translations = sorted({tuple(np.floor_divide(t + o, m)) for t in fcs.translations for o in offsets})
    out = np.zeros((n_c, n, len(big_translations), n_c, n, 3, 3))
    for a, o in enumerate(offsets):
        for big_l, big_t in enumerate(big_translations):
            for b, o2 in enumerate(offsets):
                k = index.get(tuple(o2 + m * np.array(big_t) - o))
                if k is not None:
                    out[a, :, big_l, b] = fc[:, k]
    positions = ((fcs.scaled_positions[None] + offsets[:, None]) / m).reshape(-1, 3)
    return ForceConstants(
        fc=out.reshape(n_c * n, len(big_translations) * n_c * n, 3, 3),
        translations=np.array(big_translations, dtype=int),
        cell=fcs.cell * m[:, None],
        scaled_positions=positions,
        masses=np.tile(fcs.masses, n_c),
        numbers=np.tile(fcs.numbers, n_c),
    )


def time_mesh(fcs, mesh: int, real_form: bool, eigensolver: str = "jax") -> dict:
    """Seconds for the frequency pass and for the DOS/thermal steps on a full n³ mesh, with the
    real symmetric form of D(q) (Si has an inversion centre) or the Hermitian D(q)."""
    import jax

    from phonax_fast.qgrid import mesh_frequencies

    options = dict(symmetry=False, eigensolver=eigensolver, progress=None, real_form=real_form)
    mesh_frequencies(fcs, mesh, **options)  # compile
    start = time.perf_counter()
    freqs = mesh_frequencies(fcs, mesh, **options)
    solved = time.perf_counter()
    freqs.dos("tetrahedron")
    freqs.dos("gaussian")
    freqs.thermal_properties([300.0])
    done = time.perf_counter()
    return {"solver": eigensolver, "form": "real" if real_form else "Hermitian", "mesh": mesh, "n_q": mesh**3,
            "n_atoms": fcs.n_atoms,
            "device": str(jax.devices()[0]),
            "frequencies_s": solved - start, "dos_thermal_s": done - solved,
            "q_per_s": mesh**3 / (solved - start)}


def main(npz: str, out: str, budget_s: float = 240.0) -> None:
    """Time the cases in order until ``budget_s`` seconds have passed; write the rows to ``out``."""
    from phonax_fast.harmonic.force_constants import ForceConstants

    data = np.load(npz)
    si = ForceConstants(**{k: data[k] for k in data.files})
    solvers = ["jax"]
    try:
        from phonax_fast.qgrid.solver import _import_cupy

        _import_cupy()
        solvers.append("cupy")
    except ValueError as err:
        print(f"cupy path not timed: {err}", flush=True)
    rows, start = [], time.perf_counter()
    for name, (multiple, meshes) in CASES.items():
        fcs = supercell_force_constants(si, multiple)
        for mesh in meshes:
            if time.perf_counter() - start > budget_s:
                break
            for real_form in (True, False):
                for solver in solvers:
                    rows.append({"case": name, **time_mesh(fcs, mesh, real_form, solver)})
                    print(json.dumps(rows[-1]), flush=True)
    with open(out, "w") as f:
        json.dump(rows, f, indent=1)


def save(npz: str) -> None:
    """Write phonopy's DFT Si as ForceConstants arrays (needs phonopy and its sdist: run as
    ``python -m benchmarks.bench_qgrid_gpu`` from the repository root)."""
    from benchmarks.bench_qgrid import phonopy_si
    from phonax_fast.interop.phonopy_import import force_constants_from_phonopy

    fcs = force_constants_from_phonopy(phonopy_si())
    fields = ("fc", "translations", "cell", "scaled_positions", "masses", "numbers")
    np.savez(npz, **{k: getattr(fcs, k) for k in fields})


if __name__ == "__main__":
    if sys.argv[1] == "--save":
        save(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2], *map(float, sys.argv[3:]))
