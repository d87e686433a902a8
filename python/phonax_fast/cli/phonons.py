"""``phonax-fast phonons STRUCTURE``: bands, DOS and phonopy files of a crystal."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..forceconstants import CONSTRUCTIONS
from ..harmonic.nac import METHODS as NAC_METHODS
from ..interop.nac import read_born
from ..phonons import Phonons
from .common import output_folder, staged_output, structure_and_model


def add_phonons_command(subparsers) -> argparse.ArgumentParser:
    """Register ``phonons`` on an ``argparse`` sub-parser collection (``run`` = :func:`run_phonons`)."""
    p = subparsers.add_parser("phonons", help="phonon bands, DOS and phonopy files of a crystal",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("structure", help="structure file read by ase.io (CIF, POSCAR, extxyz…) or example:Si")
    p.add_argument("--model", default="default", help="model file (.npz) or bundled model name")
    p.add_argument("--out", default="phonons", type=Path, help="output folder")
    p.add_argument("--npoints", type=int, default=151, help="q-points along the band path")
    p.add_argument("--mesh", type=int, nargs=3, default=(16, 16, 16), help="Γ-centred q-mesh for the DOS")
    p.add_argument("--construction", choices=CONSTRUCTIONS, default="auto", help="force-constant construction")
    p.add_argument("--born", type=Path, default=None,
                   help="phonopy BORN file (ε∞ and Born charges) for the non-analytic correction: LO–TO splitting")
    p.add_argument("--nac-method", choices=NAC_METHODS, default="gonze",
                   help="non-analytic correction: Gonze–Lee Ewald sum (phonopy's default) or Wang's")
    p.add_argument("--no-primitive", dest="primitive", action="store_false", default=True,
                   help="keep a conventional cell or supercell as given (folded bands) instead of reducing it to "
                        "its primitive cell")
    p.set_defaults(run=run_phonons)
    return p


def run_phonons(args) -> int:
    """Run ``phonax-fast phonons`` for parsed ``args``; returns 0."""
    out = output_folder(args.out)
    atoms, model = structure_and_model(args.structure, args.model)
    print(f"structure: {atoms.get_chemical_formula()} ({len(atoms)} atoms), model: {args.model} ({model.model_name}, "
          f"elements {' '.join(model.species)}, cutoff {model.cutoff} Å, {model.num_layers} layers)")
    ph = Phonons(atoms, model, construction=args.construction, primitive=args.primitive)
    if ph.reduced_from:
        print(f"reduced the {ph.reduced_from}-atom cell to its {len(ph.atoms)}-atom primitive cell "
              "(--no-primitive keeps it as given)")
    born = None
    if args.born is not None:  # read before the force constants are computed, so a bad file fails at once
        cell = ph.atoms
        born = read_born(args.born, cell.cell[:], cell.get_scaled_positions(), cell.numbers)
    t0 = time.perf_counter()
    fcs = ph.fcs
    print(f"force constants: {ph.construction} construction, {len(fcs.translations)} lattice translations, "
          f"{time.perf_counter() - t0:.1f} s; acoustic-sum-rule residual {ph.acoustic_sum_residual():.2e} eV/Å²")
    if born is not None:
        nac = ph.set_nac(born["born"], born["epsilon"], method=args.nac_method, factor=born["factor"]).nac
        eps = " ".join(f"{x:.3f}" for x in nac.epsilon.diagonal())
        print(f"non-analytic correction: {nac.method}, Born charges from {args.born} (|Σ Z*| was "
              f"{nac.charge_residual:.1e} e before neutrality was imposed), ε∞ diagonal {eps}")
    elif is_polar(ph.atoms):
        print("note: this crystal may be polar; without Born charges (--born BORN) its LO–TO splitting is absent")
    with staged_output(out) as stage:
        written = ph.write(stage, npoints=args.npoints, mesh=tuple(args.mesh), log=print)
        written = {name: out / path.name for name, path in written.items()}
    gamma = ph.frequencies([[0, 0, 0]])[0]
    print("Γ frequencies (THz): " + " ".join(f"{f:.3f}" for f in gamma))
    if ph.nac is not None:
        along = ph.frequencies([[0, 0, 0]], q_direction=[1, 0, 0])[0]
        print("Γ frequencies with q → 0 along a* (THz): " + " ".join(f"{f:.3f}" for f in along))
    for path in written.values():
        print(f"wrote {path}")
    return 0


def is_polar(atoms) -> bool:
    """Whether the crystal is a compound (more than one element): it may have nonzero Born charges,
    so the CLI notes that LO–TO splitting needs them."""
    return len(set(atoms.get_atomic_numbers())) > 1
