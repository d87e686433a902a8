"""``phonax-fast vibrations MOLECULE.xyz``: table, JSON and stick spectrum of a molecule."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..plotting import plot_stick_spectrum, save_figure
from ..vibrations import Vibrations
from .common import output_folder, staged_output, structure_and_model


def add_vibrations_command(subparsers) -> argparse.ArgumentParser:
    """Register ``vibrations`` on an ``argparse`` sub-parser collection (``run`` = :func:`run_vibrations`)."""
    parser = subparsers.add_parser(
        "vibrations",
        help="vibrational frequencies, irreps and IR/Raman activity of a molecule",
        description="Harmonic vibrations of an isolated molecule from the model's exact Hessian: prints a table "
        "(frequency, irrep, IR, Raman), writes STEM_vibrations.json and STEM_vibrations.png into --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("molecule", type=Path, help="structure file read by ase.io (xyz, extxyz, …), no periodicity")
    parser.add_argument("--model", default="molecules",
                        help="model file (.npz) or bundled model name (the bundled 'molecules' model is for small "
                        "H/C/N/O molecules, trained on GFN2-xTB)")
    parser.add_argument("--out", type=Path, default=Path("."), help="output folder")
    parser.add_argument("--symmetry-tolerance", type=float, default=0.01, help="Å, for the point group")
    parser.add_argument("--degeneracy-tolerance", type=float, default=0.05, help="cm⁻¹")
    parser.set_defaults(run=run_vibrations)
    return parser


def run_vibrations(args) -> int:
    """Run ``phonax-fast vibrations`` for parsed ``args``; returns 0."""
    out = output_folder(args.out)
    atoms, model = structure_and_model(str(args.molecule), args.model)
    vib = Vibrations(atoms, model, symmetry_tolerance=args.symmetry_tolerance, degeneracy_tolerance=args.degeneracy_tolerance)
    print(vib.table())
    stem = args.molecule.stem
    with staged_output(out) as stage:
        vib.write_json(stage / f"{stem}_vibrations.json")
        save_figure(plot_stick_spectrum(vib), stage / f"{stem}_vibrations.png")
    print(f"wrote {out / f'{stem}_vibrations.json'} and {out / f'{stem}_vibrations.png'}")
    return 0
