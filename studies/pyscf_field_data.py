"""Finite-field reference data for small molecules from PySCF (issue 16): energies, forces, dipoles
at several uniform electric fields, and polarizabilities, as extxyz files ``read_extxyz`` reads.

The field F (atomic units) enters the one-electron Hamiltonian as h = h₀ + F·r (electrons,
charge −1) and the nuclear energy as −Σ_A Z_A F·R_A, both about the origin, so that
U(F) = U(0) − μ·F − ½ F·α·F + … with μ = Σ_A Z_A R_A − ⟨Σ_i r_i⟩. PySCF's stock nuclear gradient
leaves out the field's term (``../shared/REFERENCE-DATA.md``); it is added here:

    ∂U/∂R_A += F·∂⟨r⟩/∂R_A − Z_A F,   ∂⟨r_j⟩/∂R_{A,i} = −2 Σ_{μ∈A, ν} P_{νμ} ⟨ν| r_j ∂_i μ⟩

(``int1e_irp``), checked against central differences of the energy by :func:`check_forces`
(``python -m studies.pyscf_field_data --check``: 1.7e-8 Hartree/bohr on a rattled water molecule
in a field of 0.01 a.u.). Polarizabilities are central differences of the analytic dipole over
±h along each axis (h = ``STEP_AU``), given at zero field.

Each geometry gives ``1 + 6 + N_RANDOM`` samples: zero field (with α), ±h along x, y, z, and
random fields up to ``MAX_FIELD_AU``. Units written: eV, Å, eV/Å, V/Å, e·Å, e·Å²/V.

    python -m studies.pyscf_field_data [--molecule H2O] [--geometries 60] [--out out/field-data] [--field-scale 5]

needs ``pyscf`` (a dev/test tool, not a dependency of the package). HF/6-31G* by default: this is
reference data for a model's ability to learn field responses, not a benchmark of chemistry.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import molecule

from phonax_fast.training.data import Sample, write_extxyz
from phonax_fast.units import ANGSTROM_PER_BOHR, EV_PER_HARTREE

V_PER_ANGSTROM_PER_AU = EV_PER_HARTREE / ANGSTROM_PER_BOHR  # 1 a.u. of field = 51.42 V/Å
STEP_AU = 0.002  # field step of the polarizability's central differences, a.u. (0.103 V/Å)
FIELD_STEP_AU = 0.005  # the ± fields along each axis, a.u. (0.257 V/Å)
MAX_FIELD_AU = 0.01  # largest random field, a.u. (0.514 V/Å)
N_RANDOM = 3
RATTLE = 0.05  # Å, standard deviation of the random displacements of each geometry


def pyscf_in_field(atoms: Atoms, field_au, basis: str = "6-31g*", method: str = "hf"):
    """(energy Hartree, gradient (N, 3) Hartree/bohr, dipole (3,) e·bohr) of ``atoms`` in the uniform
    field ``field_au`` (3,) a.u., the field's gradient term included."""
    from pyscf import dft, gto, scf

    field = np.asarray(field_au, dtype=float)
    mol = gto.M(atom=[(s, p) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)], basis=basis,
                unit="Angstrom", verbose=0)
    mf = scf.RHF(mol) if method == "hf" else dft.RKS(mol, xc=method)
    with mol.with_common_orig((0, 0, 0)):
        r = mol.intor_symmetric("int1e_r", comp=3)
        irp = mol.intor("int1e_irp", comp=9).reshape(3, 3, mol.nao, mol.nao).transpose(1, 0, 2, 3)  # ⟨ν| r_j ∂_i μ⟩ at [i, j]
    h0 = mf.get_hcore()
    mf.get_hcore = lambda *args: h0 + np.einsum("x,xij->ij", field, r)
    charges, coords = mol.atom_charges(), mol.atom_coords()
    nuclear = mf.energy_nuc()
    mf.energy_nuc = lambda *args: nuclear - np.einsum("a,ax,x->", charges, coords, field)
    mf.conv_tol = 1e-11
    energy = mf.kernel()
    if not mf.converged:
        raise RuntimeError(f"SCF did not converge in field {field}")
    gradient = mf.nuc_grad_method().kernel()
    dm = mf.make_rdm1()
    for a, (p0, p1) in enumerate(mol.aoslice_by_atom()[:, 2:]):
        gradient[a] += -2 * np.einsum("ijnm,nm,j->i", irp[:, :, :, p0:p1], dm[:, p0:p1], field) - charges[a] * field
    dipole = np.einsum("a,ax->x", charges, coords) - np.einsum("xij,ji->x", r, dm)
    return energy, gradient, dipole


def geometry_samples(atoms: Atoms, seed: int, basis: str = "6-31g*", method: str = "hf",
                     field_scale: float = 1.0) -> list[Sample]:
    """The samples of one geometry (see the module docstring), in eV, Å, V/Å, e·Å, e·Å²/V; the
    sampled fields (not the polarizability's step) are ``field_scale`` times the default ones."""
    rng = np.random.default_rng(seed)
    fields = [np.zeros(3)] + [s * field_scale * FIELD_STEP_AU * e for e in np.eye(3) for s in (1, -1)]
    for _ in range(N_RANDOM):
        direction = rng.normal(size=3)
        fields.append(direction / np.linalg.norm(direction) * rng.uniform(0.2, 1.0) * field_scale * MAX_FIELD_AU)
    dipoles_au = [pyscf_in_field(atoms, s * STEP_AU * e, basis, method)[2] for e in np.eye(3) for s in (1, -1)]
    alpha_au = np.stack([(dipoles_au[2 * a] - dipoles_au[2 * a + 1]) / (2 * STEP_AU) for a in range(3)], axis=1)
    alpha = 0.5 * (alpha_au + alpha_au.T) * ANGSTROM_PER_BOHR / V_PER_ANGSTROM_PER_AU  # e·Å²/V
    samples = []
    for k, f in enumerate(fields):
        e, g, mu = pyscf_in_field(atoms, f, basis, method)
        samples.append(Sample(atoms.copy(), energy=e * EV_PER_HARTREE, forces=-g * EV_PER_HARTREE / ANGSTROM_PER_BOHR,
                              field=f * V_PER_ANGSTROM_PER_AU, dipole=mu * ANGSTROM_PER_BOHR,
                              polarizability=alpha if k == 0 else None))
    return samples


def geometries(name: str, n: int, seed: int) -> list[Atoms]:
    """``n`` copies of ASE's ``molecule(name)`` with random displacements (``RATTLE`` Å)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        atoms = molecule(name)
        atoms.positions += rng.normal(0.0, RATTLE, size=atoms.positions.shape)
        out.append(atoms)
    return out


def _one(args):
    return geometry_samples(*args)


def make_data(name: str, n_geometries: int, out: Path, seed: int = 0, basis: str = "6-31g*", method: str = "hf",
              workers: int = 2, field_scale: float = 1.0) -> Path:
    """Write ``out/{name}.xyz`` (all samples, geometry by geometry, ``7 + N_RANDOM`` per geometry)."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(atoms, seed * 100_000 + k, basis, method, field_scale)
            for k, atoms in enumerate(geometries(name, n_geometries, seed))]
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        samples = [s for group in pool.map(_one, jobs) for s in group]
    path = out / f"{name}.xyz"
    write_extxyz(path, samples)
    print(f"{name}: {n_geometries} geometries, {len(samples)} samples, {method}/{basis}, "
          f"{time.perf_counter() - start:.0f} s -> {path}")
    return path


def check_forces(h: float = 1e-4) -> float:
    """max |∂U/∂R (ours) − central differences| in Hartree/bohr, water in a field of ~0.01 a.u."""
    atoms = geometries("H2O", 1, 7)[0]
    field = np.array([0.004, -0.007, 0.005])
    _, gradient, _ = pyscf_in_field(atoms, field)
    numeric = np.zeros_like(gradient)
    for a in range(len(atoms)):
        for i in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[a, i] += h
            minus.positions[a, i] -= h
            numeric[a, i] = (pyscf_in_field(plus, field)[0] - pyscf_in_field(minus, field)[0]) / (2 * h / ANGSTROM_PER_BOHR)
    error = float(np.abs(gradient - numeric).max())
    print(f"field gradient vs central differences: max |Δ| = {error:.1e} Hartree/bohr (max |g| {np.abs(numeric).max():.3f})")
    return error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--molecule", default="H2O")
    parser.add_argument("--geometries", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out/field-data"))
    parser.add_argument("--field-scale", type=float, default=1.0,
                        help="multiply the sampled fields (±0.26 V/Å along the axes, random up to 0.51 V/Å) by this")
    parser.add_argument("--check", action="store_true", help="only check the field gradient against finite differences")
    args = parser.parse_args()
    if args.check:
        check_forces()
        return
    make_data(args.molecule, args.geometries, args.out, args.seed, field_scale=args.field_scale)


if __name__ == "__main__":
    main()
