"""Command line: ``phonax-fast phonons|vibrations|train|info``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .training.cli import add_train_command
from .vibrations.cli import add_vibrations_command


def _load_model(spec: str):
    from . import models

    return models.load(spec)


def _phonons(args) -> int:
    from .examples import read_structure
    from .phonons import Phonons

    atoms = read_structure(args.structure)
    model = _load_model(args.model)
    print(f"structure: {atoms.get_chemical_formula()} ({len(atoms)} atoms), model: {args.model} ({model.model_name}, "
          f"cutoff {model.cutoff} Å, {model.num_layers} layers)")
    ph = Phonons(atoms, model, construction=args.construction)
    t0 = time.perf_counter()
    fcs = ph.fcs
    print(f"force constants: {ph.construction} construction, {len(fcs.translations)} lattice translations, "
          f"{time.perf_counter() - t0:.1f} s; acoustic-sum-rule residual {ph.acoustic_sum_residual():.2e} eV/Å²")
    mesh = tuple(args.mesh)
    written = ph.write(args.out, npoints=args.npoints, mesh=mesh)
    gamma = ph.frequencies([[0, 0, 0]])[0]
    print("Γ frequencies (THz): " + " ".join(f"{f:.3f}" for f in gamma))
    for name, path in written.items():
        print(f"wrote {path}")
    return 0


def _info(args) -> int:
    from . import build_info

    print(json.dumps(build_info(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="phonax-fast", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("phonons", help="phonon bands, DOS and phonopy files of a crystal")
    p.add_argument("structure", help="structure file read by ase.io (CIF, POSCAR, extxyz…) or example:Si")
    p.add_argument("--model", default="default", help="model file (.npz) or bundled model name (default: %(default)s)")
    p.add_argument("--out", default="phonons", type=Path, help="output directory (default: %(default)s)")
    p.add_argument("--npoints", type=int, default=151, help="q-points along the band path")
    p.add_argument("--mesh", type=int, nargs=3, default=(16, 16, 16), help="q-mesh for the DOS")
    p.add_argument("--construction", choices=("auto", "masked", "paper"), default="auto")
    p.set_defaults(run=_phonons)

    p = sub.add_parser("info", help="versions and compiled backends")
    p.set_defaults(run=_info)

    add_vibrations_command(sub)
    add_train_command(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"phonax-fast: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
