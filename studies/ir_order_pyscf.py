"""IR band order of a field model trained on PySCF data against PySCF's own IR intensities (issue 16.3).

Reference, all PySCF (HF/6-31G*, the level of ``studies/pyscf_field_data.py``): the geometry
relaxed with PySCF's analytic gradient (scipy BFGS to 1e-6 Hartree/bohr), PySCF's analytic
Hessian, and the dipole derivatives ∂μ/∂x by central differences (±0.002 Å) of PySCF's analytic
SCF dipole; the IR intensities are the double-harmonic A_k = (N_A/(12ε₀c²))·|∂μ/∂Q_k|² computed
here with scipy.constants and plain numpy, independent of phonax_fast's intensity code.

Model: FieldNequIP (``--order``, hyper-parameters of ``studies/field_order_table.py``) trained on
the molecule's finite-field data (energies, forces, dipoles; ``out/field-data/<molecule>.xyz`` from
``pyscf_field_data``), relaxed with its own forces (BFGS, 1e-4 eV/Å) from the PySCF minimum,
then ``phonax_fast.Vibrations`` (exact Hessian, dμ/dx from the field model).

Printed per molecule: frequencies (cm⁻¹) and IR intensities (km/mol) of both, mode by mode in
ascending frequency, and whether the bands ordered by intensity are in the same order. The
acceptance asks that the strongest bands are.

    python -m studies.pyscf_field_data --molecule H2CO --geometries 60   # once per molecule
    python -m studies.ir_order_pyscf [--molecules H2O H2CO] [--epochs 300] [--order 1]
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import scipy.constants as sc
from ase.build import molecule

from .field_order_table import HYPER, SAMPLES_PER_GEOMETRY, WEIGHTS
from .pyscf_field_data import pyscf_in_field

ANGSTROM_PER_BOHR = sc.physical_constants["Bohr radius"][0] * 1e10
EV_PER_HARTREE = sc.physical_constants["Hartree energy in eV"][0]
KM_PER_MOL = sc.N_A * sc.e**2 / (12 * sc.epsilon_0 * sc.c**2 * sc.atomic_mass) / 1e3  # per e²/amu
CM1_PER_SQRT_HARTREE_BOHR2_AMU = np.sqrt(sc.physical_constants["Hartree energy"][0] / (
    (sc.physical_constants["Bohr radius"][0]) ** 2 * sc.atomic_mass)) / (2 * np.pi * sc.c * 100)
DIPOLE_STEP = 0.002  # Å


def pyscf_minimum(atoms):
    """``atoms`` relaxed at HF/6-31G* (scipy BFGS on PySCF's analytic energy and gradient)."""
    from scipy.optimize import minimize

    def f(x):
        trial = atoms.copy()
        trial.positions = x.reshape(-1, 3)
        e, g, _ = pyscf_in_field(trial, np.zeros(3))
        return e, g.ravel() * ANGSTROM_PER_BOHR  # Hartree, Hartree/Å

    result = minimize(f, atoms.positions.ravel(), jac=True, method="BFGS", options={"gtol": 1e-6 * ANGSTROM_PER_BOHR})
    out = atoms.copy()
    out.positions = result.x.reshape(-1, 3)
    return out


def pyscf_ir(atoms) -> dict:
    """PySCF's harmonic frequencies (cm⁻¹) and IR intensities (km/mol) at ``atoms`` (a minimum)."""
    from pyscf import gto, scf

    mol = gto.M(atom=[(s, p) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)], basis="6-31g*",
                unit="Angstrom", verbose=0)
    mf = scf.RHF(mol)
    mf.conv_tol = 1e-11
    mf.kernel()
    n = len(atoms)
    hessian = mf.Hessian().kernel().transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)  # Hartree/bohr²
    dmu_dx = np.zeros((3 * n, 3))  # e·bohr per Å
    for k in range(3 * n):
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[k // 3, k % 3] += DIPOLE_STEP
        minus.positions[k // 3, k % 3] -= DIPOLE_STEP
        dmu_dx[k] = (pyscf_in_field(plus, np.zeros(3))[2] - pyscf_in_field(minus, np.zeros(3))[2]) / (2 * DIPOLE_STEP)
    dmu_dx *= ANGSTROM_PER_BOHR  # e·Å per Å = e
    masses = atoms.get_masses()
    inv_sqrt_m = np.repeat(1 / np.sqrt(masses), 3)
    eigenvalues, vectors = np.linalg.eigh(hessian * np.outer(inv_sqrt_m, inv_sqrt_m))
    n_vib = 3 * n - 6  # nonlinear molecules: the 6 smallest |λ| are translations and rotations
    keep = np.sort(np.argsort(np.abs(eigenvalues))[6:]) if n_vib > 0 else []
    freq = np.sign(eigenvalues[keep]) * np.sqrt(np.abs(eigenvalues[keep])) * CM1_PER_SQRT_HARTREE_BOHR2_AMU
    dmu_dq = (vectors[:, keep] * inv_sqrt_m[:, None]).T @ dmu_dx  # e/amu^½
    return {"frequencies_cm1": freq.tolist(), "ir_km_per_mol": (KM_PER_MOL * np.sum(dmu_dq**2, axis=1)).tolist()}


def model_ir(data: Path, atoms, order: int, epochs: int, seed: int = 0) -> dict:
    """Train a FieldNequIP on ``data`` (all geometries) and return its frequencies and IR intensities."""
    from ase.optimize import BFGS

    import phonax_fast as pf
    from phonax_fast.training import Batcher, OptimConfig, read_extxyz, train

    samples = read_extxyz(data)
    species = sorted(set(atoms.get_chemical_symbols()))
    model = pf.models.FieldNequIP.init(species, field_order=order, seed=seed, **HYPER)
    counts = np.array([atoms.get_chemical_symbols().count(s) for s in species])
    mean = np.mean([s.energy for s in samples]) / counts.sum()
    model = model.with_params({**model.params, "shift": np.full(len(species), mean)})  # composition is fixed
    start = time.perf_counter()
    model, _ = train(model, Batcher(samples, batch_size=SAMPLES_PER_GEOMETRY, seed=seed, species=model.species,
                                    cutoff=model.cutoff), epochs=epochs, loss_weights=WEIGHTS,
                     optim=OptimConfig(learning_rate=0.01))
    trained_s = time.perf_counter() - start
    relaxed = atoms.copy()
    relaxed.calc = pf.Calculator(model)
    BFGS(relaxed, logfile=None).run(fmax=1e-4, steps=500)
    vib = pf.Vibrations(relaxed, model)
    vibrations = ~vib.zero_modes
    return {"frequencies_cm1": vib.frequencies_cm1[vibrations].tolist(),
            "ir_km_per_mol": vib.ir_intensities[vibrations].tolist(), "train_s": trained_s,
            "moved_from_pyscf_minimum_A": float(np.abs(relaxed.positions - atoms.positions).max())}


def _job(args):
    name, data, order, epochs = args
    atoms = pyscf_minimum(molecule(name))
    reference = pyscf_ir(atoms)
    ours = model_ir(data, atoms, order, epochs)
    by_strength = lambda r: np.argsort(r["ir_km_per_mol"])[::-1].tolist()  # noqa: E731 (mode indices, strongest first)
    return {"molecule": name, "pyscf": reference, "model": ours, "order_pyscf": by_strength(reference),
            "order_model": by_strength(ours), "same_order": by_strength(reference) == by_strength(ours)}


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--molecules", nargs="+", default=["H2O", "H2CO"])
    parser.add_argument("--data", type=Path, default=Path("out/field-data"))
    parser.add_argument("--order", type=int, default=1, help="field order of the model")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("out/ir-order.json"))
    args = parser.parse_args(argv)
    jobs = [(name, args.data / f"{name}.xyz", args.order, args.epochs) for name in args.molecules]
    with ProcessPoolExecutor(min(2, len(jobs))) as pool:
        results = list(pool.map(_job, jobs))
    for r in results:
        print(f"\n{r['molecule']}: mode (ascending ν) | PySCF ν cm⁻¹, IR km/mol | model ν cm⁻¹, IR km/mol")
        for k, (f0, i0, f1, i1) in enumerate(zip(r["pyscf"]["frequencies_cm1"], r["pyscf"]["ir_km_per_mol"],
                                                  r["model"]["frequencies_cm1"], r["model"]["ir_km_per_mol"])):
            print(f"  {k + 1} | {f0:7.1f} {i0:7.1f} | {f1:7.1f} {i1:7.1f}")
        print(f"  bands by intensity (mode numbers): PySCF {[k + 1 for k in r['order_pyscf']]}, "
              f"model {[k + 1 for k in r['order_model']]}: {'same order' if r['same_order'] else 'DIFFERENT order'}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
