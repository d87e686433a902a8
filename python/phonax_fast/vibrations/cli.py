"""``phonax-fast vibrations MOLECULE.xyz [--model PATH] [--out DIR]``: table, JSON and stick spectrum."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_vibrations_command(subparsers) -> argparse.ArgumentParser:
    """Register the ``vibrations`` subcommand on an ``argparse`` subparsers object.

    The parser's default ``run`` is :func:`run_vibrations` (called with the parsed arguments,
    returns the exit status).
    """
    parser = subparsers.add_parser(
        "vibrations",
        help="vibrational frequencies, irreps and IR/Raman activity of a molecule",
        description="Harmonic vibrations of an isolated molecule from the model's exact Hessian: prints a table "
        "(frequency, irrep, IR, Raman), writes STEM_vibrations.json and STEM_vibrations.png into --out.",
    )
    parser.add_argument("molecule", type=Path, help="structure file read by ase.io (xyz, extxyz, …), no periodicity")
    parser.add_argument("--model", default="molecules",
                        help="model file (.npz) or bundled model name (default: %(default)s, the bundled model for small "
                        "H/C/N/O molecules trained on GFN2-xTB)")
    parser.add_argument("--out", type=Path, default=Path("."), help="output folder (default: current folder)")
    parser.add_argument("--symmetry-tolerance", type=float, default=0.01, help="Å, for the point group (default: %(default)s)")
    parser.add_argument("--degeneracy-tolerance", type=float, default=0.05, help="cm⁻¹ (default: %(default)s)")
    parser.set_defaults(run=run_vibrations)
    return parser


def run_vibrations(args) -> int:
    """Run the ``vibrations`` subcommand for parsed ``args``; returns 0."""
    import ase.io

    from ..graphs.validation import unknown_elements
    from ..models import load
    from ..phonons.plotting import save_figure
    from .plotting import plot_stick_spectrum
    from .vibrations import Vibrations

    if not args.molecule.is_file():
        raise FileNotFoundError(f"no structure file at {args.molecule}")
    atoms = ase.io.read(args.molecule)
    if atoms.pbc.any():
        raise ValueError(f"{args.molecule} is periodic; `vibrations` is for molecules (use `phonons` for crystals)")
    model = load(args.model)
    unknown = unknown_elements(atoms, model.species)
    if unknown:  # validate_structure would say so too; here the user can be told about --model
        raise ValueError(f"{args.molecule} has elements {unknown} that the model {str(args.model)!r} does not know "
                         f"(it knows {list(model.species)}); give a model trained on them with --model")
    vib = Vibrations(
        atoms,
        model,
        symmetry_tolerance=args.symmetry_tolerance,
        degeneracy_tolerance=args.degeneracy_tolerance,
    )
    print(vib.table())
    stem = args.molecule.stem
    json_path, png_path = args.out / f"{stem}_vibrations.json", args.out / f"{stem}_vibrations.png"
    vib.write_json(json_path)
    save_figure(plot_stick_spectrum(vib), png_path)
    print(f"wrote {json_path} and {png_path}")
    return 0
