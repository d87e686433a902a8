"""Example structures shipped with the package (``example:NAME`` on the command line)."""

from __future__ import annotations

from pathlib import Path

import ase.io
from ase import Atoms

EXAMPLES = {"Si": Path(__file__).parent.parent / "data" / "Si_diamond.vasp"}


def read_structure(spec: str) -> Atoms:
    """Read a structure file with ``ase.io`` (CIF, POSCAR, extxyz, …), or a bundled ``example:NAME``.

    ValueError (FileNotFoundError for a missing file) naming the problem when the file is empty,
    malformed, of an unknown type or holds no atoms: ase's many exception types become one.
    """
    if spec.startswith("example:"):
        name = spec.split(":", 1)[1]
        if name not in EXAMPLES:
            raise ValueError(f"unknown example {name!r}; bundled examples: {sorted(EXAMPLES)}")
        return ase.io.read(EXAMPLES[name])
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"no structure file {spec!r} (use a file path or one of {[f'example:{k}' for k in EXAMPLES]})")
    try:
        atoms = ase.io.read(path)
    except KeyError as err:  # an unknown chemical symbol, e.g. "Xx"
        raise ValueError(f"cannot read structure file {spec}: unknown element {err}") from None
    except Exception as err:  # ase raises its own types (UnknownFileTypeError, XYZError, …) and ValueError, IndexError
        raise ValueError(f"cannot read structure file {spec}: {err}") from None
    if isinstance(atoms, list):
        atoms = atoms[-1] if atoms else None
    if atoms is None or len(atoms) == 0:
        raise ValueError(f"structure file {spec} holds no atoms")
    return atoms
