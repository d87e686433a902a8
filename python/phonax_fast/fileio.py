"""Atomic file writing: results appear whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def _temporary_beside(path: Path):
    """Yield a temporary file name beside ``path``; on success rename it onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write(path, write) -> None:
    """Call ``write(binary_file_object)`` on a temporary file beside ``path``, then rename it into place."""
    with _temporary_beside(Path(path)) as tmp, open(tmp, "wb") as f:
        write(f)


def atomic_write_named(path, write_to) -> None:
    """Like :func:`atomic_write` for writers that take a file name: ``write_to(temporary_name)``."""
    with _temporary_beside(Path(path)) as tmp:
        write_to(tmp)
