"""Example structures shipped with the package (``example:NAME`` on the command line)."""

from __future__ import annotations

from pathlib import Path

import ase.io
from ase import Atoms

EXAMPLES = {"Si": Path(__file__).parent.parent / "data" / "Si_diamond.vasp"}


def read_structure(spec: str) -> Atoms:
    """Read a structure file with ``ase.io`` (CIF, POSCAR, extxyz, …), or a bundled ``example:NAME``."""
    if spec.startswith("example:"):
        name = spec.split(":", 1)[1]
        if name not in EXAMPLES:
            raise ValueError(f"unknown example {name!r}; bundled examples: {sorted(EXAMPLES)}")
        return ase.io.read(EXAMPLES[name])
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"no structure file {spec!r} (use a file path or one of {[f'example:{k}' for k in EXAMPLES]})")
    return ase.io.read(path)
