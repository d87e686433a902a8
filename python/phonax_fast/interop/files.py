"""Files phonopy (and people) read: band.yaml, total_dos.dat, phonopy_params.yaml, FORCE_CONSTANTS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from phonopy.file_IO import get_FORCE_CONSTANTS_lines

from ..fileio import atomic_write, atomic_write_named



def write_band_yaml(phonon, bands, path) -> None:
    """band.yaml written by phonopy itself for the same path (phonopy's THz)."""
    labels = [lab for pair in bands.path.labels for lab in pair]
    connections = [False] * len(bands.path.segments)
    phonon.run_band_structure(bands.path.segments, path_connections=connections, labels=labels)
    atomic_write_named(path, lambda tmp: phonon.write_yaml_band_structure(filename=tmp))


def write_total_dos(frequencies, dos, path, sigma=None) -> None:
    """total_dos.dat in phonopy's format: a comment line, then frequency (THz) and DOS columns."""
    header = f"# Sigma = {sigma:f}\n" if sigma is not None else "# tetrahedron method\n"
    body = "".join(f"{f:20.10f}{d:20.10f}\n" for f, d in zip(np.asarray(frequencies), np.asarray(dos)))
    atomic_write(Path(path), lambda fh: fh.write((header + body).encode()))


def write_phonopy_params(phonon, path) -> None:
    """phonopy_params.yaml with structure and force constants (``phonopy.load`` reads it back)."""
    atomic_write_named(path, lambda tmp: phonon.save(filename=tmp, settings={"force_constants": True}))


def write_force_constants(phonon, path) -> None:
    """FORCE_CONSTANTS (compact, phonopy's text format) for the phonopy supercell."""
    lines = get_FORCE_CONSTANTS_lines(phonon.force_constants, p2s_map=phonon.primitive.p2s_map)
    atomic_write(Path(path), lambda fh: fh.write(("\n".join(lines) + "\n").encode()))
