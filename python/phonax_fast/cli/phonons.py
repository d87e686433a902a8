"""``phonax-fast phonons STRUCTURE``: bands, DOS and phonopy files of a crystal."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..forceconstants import CONSTRUCTIONS
from ..forceconstants.crystal import DEFAULT_SUPERCELL_LENGTH
from ..harmonic.nac import METHODS as NAC_METHODS
from ..interop.nac import read_born
from ..models import registry
from ..phonons import Phonons
from .common import model_summary, output_folder, staged_output, structure_and_model


def add_phonons_command(subparsers) -> argparse.ArgumentParser:
    """Register ``phonons`` on an ``argparse`` sub-parser collection (``run`` = :func:`run_phonons`)."""
    p = subparsers.add_parser("phonons", help="phonon bands, DOS and phonopy files of a crystal",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("structure", help="structure file read by ase.io (CIF, POSCAR, extxyz…) or example:Si")
    p.add_argument("--model", default="default",
                   help="model name (phonax-fast info lists them; default: the bundled universal model) or file (.npz, .nqx)")
    p.add_argument("--out", default="phonons", type=Path, help="output folder")
    p.add_argument("--npoints", type=int, default=151, help="q-points along the band path")
    p.add_argument("--mesh", type=int, nargs=3, default=(16, 16, 16), help="Γ-centred q-mesh for the DOS")
    p.add_argument("--construction", choices=CONSTRUCTIONS, default="auto",
                   help="force-constant construction: auto picks by estimated cost and memory and says why")
    p.add_argument("--supercell", type=int, nargs="+", default=None, metavar="N",
                   help="supercell of the supercell construction: 3 integers (diagonal) or 9 (a 3×3 matrix, rows), as "
                        "phonopy's --dim; default: the smallest at least --supercell-length wide")
    p.add_argument("--supercell-length", type=float, default=DEFAULT_SUPERCELL_LENGTH, metavar="Å",
                   help="least width of the automatic supercell in every direction")
    p.add_argument("--relax", action="store_true",
                   help="relax the atomic positions with the model first, keeping the space group")
    p.add_argument("--relax-cell", action="store_true", help="relax the cell too (zero pressure); implies --relax")
    p.add_argument("--fmax", type=float, default=1e-3, metavar="eV/Å", help="force threshold of the relaxation")
    p.add_argument("--check-supercell", action="store_true",
                   help="with the supercell construction, compute a larger supercell too and report how much the "
                        "frequencies move along the band path")
    p.add_argument("--born", type=Path, default=None,
                   help="phonopy BORN file (ε∞ and Born charges) for the non-analytic correction (LO–TO splitting), "
                        "or 'model': those of the field model itself (e.g. --model field-demo)")
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
    print(f"structure: {atoms.get_chemical_formula()} ({len(atoms)} atoms), model: {model_summary(args.model, model)}")
    supercell = None
    if args.supercell is not None:
        if len(args.supercell) not in (3, 9):
            raise ValueError(f"--supercell takes 3 or 9 integers, got {len(args.supercell)}")
        supercell = args.supercell if len(args.supercell) == 3 else [args.supercell[k : k + 3] for k in (0, 3, 6)]
    ph = Phonons(atoms, model, model_label=registry.resolve(args.model), construction=args.construction, primitive=args.primitive, supercell=supercell,
                 supercell_length=args.supercell_length, relax=args.relax or args.relax_cell, relax_cell=args.relax_cell,
                 fmax=args.fmax)
    if ph.reduced_from:
        print(f"reduced the {ph.reduced_from}-atom cell to its {len(ph.atoms)}-atom primitive cell "
              "(--no-primitive keeps it as given)")
    if ph.relax_report is not None:
        print(ph.relax_report.summary())
    born = None
    from_model = args.born is not None and str(args.born) == FROM_MODEL
    if from_model:  # computed before the force constants, so a model without a field fails at once
        _ = ph.dielectric
    elif args.born is not None:  # read before the force constants are computed, so a bad file fails at once
        cell = ph.atoms
        born = read_born(args.born, cell.cell[:], cell.get_scaled_positions(), cell.numbers)
    fcs = ph.fcs
    print("force constants: " + ph.report.summary().replace("\n", "\n  "))
    print(f"  {len(fcs.translations)} lattice translations; acoustic-sum-rule residual {ph.acoustic_sum_residual():.2e} eV/Å²")
    if args.check_supercell:
        if ph.report.supercell is None:
            print(f"--check-supercell: the {ph.construction} construction uses no supercell (its force constants are exact)")
        else:
            check = ph.supercell_convergence()
            n_larger = round(abs(float(np.linalg.det(check["larger"])))) * len(ph.atoms)
            print(f"supercell check: a {n_larger}-atom supercell moves the frequencies along the band path by at most "
                  f"{check['max_change']:.4f} THz (mean {check['mean_change']:.4f} THz)")
    if born is not None or from_model:
        if from_model:
            nac = ph.set_nac(method=args.nac_method, from_model=True).nac
            source = "the model (its field response)"
        else:
            nac = ph.set_nac(born["born"], born["epsilon"], method=args.nac_method, factor=born["factor"]).nac
            source = str(args.born)
        eps = " ".join(f"{x:.3f}" for x in nac.epsilon.diagonal())
        print(f"non-analytic correction: {nac.method}, Born charges from {source} (|Σ Z*| was "
              f"{nac.charge_residual:.1e} e before neutrality was imposed), ε∞ diagonal {eps}")
    elif is_polar(ph.atoms):
        hint = "--born model" if getattr(model, "field_order", 0) >= 1 else "--born BORN"
        print(f"note: this crystal may be polar; without Born charges ({hint}) its LO–TO splitting is absent")
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


FROM_MODEL = "model"  # --born model: the field model's own Born charges and ε∞


def is_polar(atoms) -> bool:
    """Whether the crystal is a compound (more than one element): it may have nonzero Born charges,
    so the CLI notes that LO–TO splitting needs them."""
    return len(set(atoms.get_atomic_numbers())) > 1
