"""Reproduce the bundled models ``demo`` and ``field-demo`` (``phonax_fast/models/data``) from DFT data.

    python -m studies.reproduce_demo [--model field-demo] [--out model.npz] [--checkpoint ckpt.npz] [--data DIR]

(from the repository root). Trains with the configuration ``models/data/<model>.yaml`` (``demo``:
NequIP on the DFT force sets of Si, NaCl and MgO in phonopy's source distribution; ``field-demo``:
FieldNequIP on those of NaCl and MgO and their BORN files' Born charges and ε∞; the data from
``--data``, or fetched with pip by :mod:`studies.phonopy_sdist`), writes the model and prints the
phonon frequency errors against the DFT force constants of each material (phonopy's
``produce_force_constants`` on the same force sets), at the q-points commensurate with the DFT
supercell, in THz. For ``field-demo`` it also prints the model's Born charges, ε∞ and LO–TO
splitting against DFT (:mod:`studies.field_crystal_check`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from phonax_fast import models
from phonax_fast.training.config import TrainConfig
from phonax_fast.training.run import run

from .phonopy_sdist import phonopy_source

DATA = Path(models.__file__).resolve().parent / "data"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("demo", "field-demo"), default="demo", help="which bundled model")
    parser.add_argument("--out", type=Path, default=None, help="model file to write (default: ./<model>.npz)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="checkpoint file (resumes if it exists)")
    parser.add_argument("--epochs", type=int, default=None, help="override the configured number of epochs")
    parser.add_argument("--data", type=Path, default=None,
                        help="phonopy's extracted source distribution (default: fetched by studies.phonopy_sdist)")
    args = parser.parse_args(argv)
    root = args.data or phonopy_source()
    config = TrainConfig.from_file(DATA / f"{args.model}.yaml", data_root=root)
    out = args.out or Path(f"{args.model}.npz")
    changes = {"output_model": out, "checkpoint": args.checkpoint}
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    _, history, errors = run(dataclasses.replace(config, **changes))
    print(json.dumps({"final_loss": history.records[-1]["loss"], "phonon_errors_THz": errors}, indent=2))
    if args.model == "field-demo":
        from .field_crystal_check import check

        print(json.dumps(check(out, root), indent=2))
    return errors


if __name__ == "__main__":
    main()
