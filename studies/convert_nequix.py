"""Convert nequix's published checkpoints into phonax_fast model files with float32 weights.

    python -m studies.convert_nequix [--source DIR] [--out DIR]

(from the repository root). Reads ``nequix-mp-1-pft.nqx`` and ``nequix-oam-1-pft.nqx`` from
``--source`` (default: ``../shared/models/nequix`` beside the repository) with
:func:`phonax_fast.models.nequix_checkpoint.read_nequix_checkpoint` and writes ``<name>.npz`` into
``--out`` (default: ``python/phonax_fast/models/data``). The checkpoints hold float32 weights, so
storing float32 rounds nothing: each written file is read back and checked to give the
checkpoint's weights exactly. nequix's MIT licence, which must ship with weights derived from
its checkpoints, is copied beside them as ``LICENSE-nequix``.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import jax
import numpy as np

from phonax_fast.models import load_file
from phonax_fast.models.nequix_checkpoint import read_nequix_checkpoint

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCE = REPOSITORY.parent / "shared" / "models" / "nequix"
OUT = REPOSITORY / "python" / "phonax_fast" / "models" / "data"
NAMES = ("nequix-mp-1-pft", "nequix-oam-1-pft")


def convert(source: Path, out: Path, name: str) -> Path:
    """Write ``out/<name>.npz`` (float32 weights) from ``source/<name>.nqx``; check it reads back exactly."""
    model = read_nequix_checkpoint(source / f"{name}.nqx")
    target = out / f"{name}.npz"
    model.save(target, dtype=np.float32)
    loaded = load_file(target)
    same = loaded.config == model.config and all(
        np.array_equal(a, b) for a, b in zip(jax.tree.leaves(loaded.params), jax.tree.leaves(model.params)))
    if not same or jax.tree.structure(loaded.params) != jax.tree.structure(model.params):
        raise RuntimeError(f"{target} does not read back to the weights of {source / name}.nqx")
    return target


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help=f"folder of the .nqx files (default: {SOURCE})")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder to write the .npz files to (default: {OUT})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in NAMES:
        target = convert(args.source, args.out, name)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()[:16]
        print(f"{target}: {target.stat().st_size / 1e6:.2f} MB, sha256 {digest}…")
        written.append(target)
    shutil.copyfile(args.source / "LICENSE", args.out / "LICENSE-nequix")
    return written


if __name__ == "__main__":
    main()
