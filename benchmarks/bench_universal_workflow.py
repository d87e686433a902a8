"""The whole phonon workflow with a universal model: force constants, band structure and DOS.
Ours against phonopy's finite displacements through the model's reference calculator, one run,
each case in a fresh process (compilation included, imports not).

    python -m benchmarks.bench_universal_workflow [--cases si nacl yag] [--methods ...]

Cases (the supercell is the one ours picks by default, at least 15 Å wide; phonopy uses the same):
  si    Si, 2-atom cell → 216-atom supercell
  nacl  NaCl, 2-atom cell → 216-atom supercell
  yag   Y3Al5O12 garnet, 80-atom primitive cell (Ia-3d, 4 inequivalent atoms) → 640-atom supercell
Methods:
  ours-nequix      pf.Phonons with the default model (nequix-oam-1-pft): force constants (supercell
                   construction), band structure (101 q), DOS (16³ mesh, tetrahedron)
  phonopy-nequix   phonopy (0.01 Å displacements) + nequix's own JAX ASE calculator (the same model,
                   nequix-oam-1-pft.nqx, float32, no GPU kernels) + phonopy's band structure and DOS
  ours-sevennet    pf.Phonons with sevennet-0 (converted and cached beforehand)
  phonopy-sevennet phonopy + sevenn's torch ASE calculator (SevenNet-0, CPU)
Prints seconds per method and the ratio of each peer to ours with the same model.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

NQX = Path(__file__).resolve().parents[2] / "shared/models/nequix/nequix-oam-1-pft.nqx"
CASES = ("si", "nacl", "yag")
METHODS = ("ours-nequix", "phonopy-nequix", "ours-sevennet", "phonopy-sevennet")
MESH = (16, 16, 16)
NPOINTS = 101


def structure(case: str):
    from ase.build import bulk
    from ase.spacegroup import crystal

    from phonax_fast.harmonic.symmetry import primitive_cell

    if case == "si":
        return bulk("Si", "diamond", a=5.43)
    if case == "nacl":
        return bulk("NaCl", "rocksalt", a=5.64)
    from ase import Atoms

    yag = crystal(["Y", "Al", "Al", "O"], basis=[(0.125, 0, 0.25), (0, 0, 0), (0.375, 0, 0.25), (-0.0306, 0.0512, 0.15)],
                  spacegroup=230, cellpar=[12.0, 12.0, 12.0, 90, 90, 90])
    cell, positions, numbers, _ = primitive_cell(yag.cell[:], yag.get_scaled_positions(), yag.numbers)
    return Atoms(numbers=numbers, scaled_positions=positions, cell=cell, pbc=True)


def run(case: str, method: str) -> dict:
    import phonax_fast as pf
    from phonax_fast.forceconstants import plan_construction

    atoms = structure(case)
    model_name = "default" if method.endswith("nequix") else "sevennet-0"
    start = time.perf_counter()
    model = pf.models.load(model_name)
    if method.startswith("ours"):
        ph = pf.Phonons(atoms, model)
        ph.fcs
        fc_seconds = time.perf_counter() - start
        bands = ph.band_structure(npoints=NPOINTS)
        ph.dos(mesh=MESH)
        return {"seconds": time.perf_counter() - start, "force_constants": fc_seconds, "supercell_atoms": ph.report.supercell.n_atoms,
                "products": ph.report.timing.products, "gamma_max": float(bands.frequencies[0].max())}
    matrix = plan_construction(atoms, model).supercell
    return phonopy_workflow(atoms, matrix, method, start)


def phonopy_workflow(atoms, matrix, method: str, start: float) -> dict:
    """phonopy's own workflow through the model's reference ASE calculator."""
    import jax
    from ase import Atoms
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    from phonax_fast.phonons.bands import band_path

    if method == "phonopy-nequix":
        from nequix.calculator import NequixCalculator

        jax.config.update("jax_enable_x64", False)  # nequix as users run it: float32, the checkpoint's dtype
        calculator = NequixCalculator(model_path=str(NQX), use_kernel=False)
    else:
        from sevenn.calculator import SevenNetCalculator

        calculator = SevenNetCalculator("7net-0", device="cpu")
    unit = PhonopyAtoms(cell=atoms.cell[:], scaled_positions=atoms.get_scaled_positions(), numbers=atoms.numbers)
    phonon = Phonopy(unit, supercell_matrix=np.asarray(matrix).T, primitive_matrix=np.eye(3))
    phonon.generate_displacements(distance=0.01)
    forces = []
    for sc in phonon.supercells_with_displacements:
        displaced = Atoms(numbers=sc.numbers, cell=sc.cell, scaled_positions=sc.scaled_positions, pbc=True)
        displaced.calc = calculator
        forces.append(np.array(displaced.get_forces(), dtype=float))
    phonon.forces = np.array(forces)
    phonon.produce_force_constants()
    fc_seconds = time.perf_counter() - start
    path = band_path(atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers, NPOINTS)
    phonon.run_band_structure(path.segments)
    phonon.run_mesh(MESH)
    phonon.run_total_dos()
    gamma = phonon.get_band_structure_dict()["frequencies"][0][0]
    return {"seconds": time.perf_counter() - start, "force_constants": fc_seconds, "supercell_atoms": len(phonon.supercell),
            "products": len(forces), "gamma_max": float(np.max(gamma))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--inside", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(run(*args.inside)))
        return
    for case in args.cases:
        results = {}
        for method in args.methods:
            done = subprocess.run([sys.executable, "-m", "benchmarks.bench_universal_workflow", "--inside", case, method],
                                  capture_output=True, text=True)
            if done.returncode:
                print(f"{case} {method}: failed\n{done.stderr[-1500:]}", flush=True)
                continue
            results[method] = r = json.loads(done.stdout.strip().splitlines()[-1])
            ours = results.get("ours-" + method.split("-")[1])
            ratio = f"{r['seconds'] / ours['seconds']:.2f}× ours" if ours and not method.startswith("ours") else ""
            print(f"{case:5s} {method:17s} {r['seconds']:7.1f} s (force constants {r['force_constants']:6.1f} s; "
                  f"{r['products']} {'Hessian rows' if method.startswith('ours') else 'force evaluations'} on "
                  f"{r['supercell_atoms']} atoms; highest Γ mode {r['gamma_max']:.2f} THz) {ratio}", flush=True)


if __name__ == "__main__":
    main()
