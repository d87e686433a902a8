"""``phonax-fast vibrations MOLECULE.xyz``: table, JSON and stick spectrum of a molecule (and broadened
IR/Raman spectra with intensities when the model has an electric field)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..plotting import plot_ir_raman_spectrum, plot_stick_spectrum, save_figure
from ..vibrations import Vibrations
from .common import model_summary, output_folder, staged_output, structure_and_model


def add_vibrations_command(subparsers) -> argparse.ArgumentParser:
    """Register ``vibrations`` on an ``argparse`` sub-parser collection (``run`` = :func:`run_vibrations`)."""
    parser = subparsers.add_parser(
        "vibrations",
        help="vibrational frequencies, irreps and IR/Raman activity of a molecule",
        description="Harmonic vibrations of an isolated molecule from the model's exact Hessian: prints a table "
        "(frequency, irrep, IR, Raman), writes STEM_vibrations.json and STEM_vibrations.png into --out. With a "
        "field model (e.g. FieldNequIP) also IR intensities (km/mol), Raman activities (Å⁴/amu) and depolarisation "
        "ratios, in the table and the JSON, and broadened spectra in STEM_spectra.png.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("molecule", type=Path, help="structure file read by ase.io (xyz, extxyz, …), no periodicity")
    parser.add_argument("--model", default="molecules",
                        help="model file (.npz) or bundled model name (the bundled 'molecules' model is for small "
                        "H/C/N/O molecules, trained on GFN2-xTB)")
    parser.add_argument("--out", type=Path, default=Path("."), help="output folder")
    parser.add_argument("--symmetry-tolerance", type=float, default=0.01, help="Å, for the point group")
    parser.add_argument("--degeneracy-tolerance", type=float, default=0.05, help="cm⁻¹")
    parser.add_argument("--fwhm", type=float, default=10.0,
                        help="cm⁻¹, Lorentzian line width of the IR/Raman spectra (field models only)")
    parser.set_defaults(run=run_vibrations)
    return parser


def run_vibrations(args) -> int:
    """Run ``phonax-fast vibrations`` for parsed ``args``; returns 0."""
    if not args.fwhm > 0:
        raise ValueError(f"--fwhm must be positive, not {args.fwhm}")
    out = output_folder(args.out)
    atoms, model = structure_and_model(str(args.molecule), args.model)
    print(f"molecule: {atoms.get_chemical_formula()} ({len(atoms)} atoms), model: {model_summary(args.model, model)}")
    vib = Vibrations(atoms, model, symmetry_tolerance=args.symmetry_tolerance, degeneracy_tolerance=args.degeneracy_tolerance)
    print(vib.table())
    stem = args.molecule.stem
    names = [f"{stem}_vibrations.json", f"{stem}_vibrations.png"]
    if vib.intensities is not None:
        names.append(f"{stem}_spectra.png")
    with staged_output(out) as stage:
        vib.write_json(stage / names[0])
        save_figure(plot_stick_spectrum(vib), stage / names[1])
        if vib.intensities is not None:
            save_figure(plot_ir_raman_spectrum(vib, args.fwhm), stage / names[2])
    paths = [str(out / name) for name in names]
    print(f"wrote {', '.join(paths[:-1])} and {paths[-1]}")
    return 0
