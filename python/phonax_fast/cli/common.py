"""What the sub-commands share: structures, models, output folders, and how errors end a run.

Exit codes: 0 success, 2 a user error (bad input: one line ``phonax-fast: error: …`` on stderr,
no traceback), 130 interrupted (Ctrl-C: one line ``phonax-fast: interrupted``). Anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import jax

from ..graphs.validation import unknown_elements
from ..interop.structures import read_structure
from ..models import domain_warning, load, registry

USER_ERRORS = (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError, FileExistsError)
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


CACHE_ENV = "PHONAX_FAST_CACHE_DIR"


def compilation_cache_dir() -> Path | None:
    """Where the CLI keeps JAX's persistent compilation cache: ``$PHONAX_FAST_CACHE_DIR`` (``none``
    turns it off), else ``$XDG_CACHE_HOME/phonax_fast/jax`` (default ``~/.cache/phonax_fast/jax``)."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.lower() in ("", "none", "off") else Path(chosen)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "phonax_fast" / "jax"


def enable_compilation_cache() -> Path | None:
    """Turn on JAX's persistent compilation cache for this process (every compiled function, however
    quick to compile), so a second run on the same model and shapes skips compilation; returns the
    folder, or None when it is off or cannot be created (the run then just compiles)."""
    folder = compilation_cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder


def run(args) -> int:
    """Run ``args.run(args)``; user errors and Ctrl-C become one line on stderr and an exit code."""
    enable_compilation_cache()
    try:
        return args.run(args)
    except USER_ERRORS as err:
        print(f"phonax-fast: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("phonax-fast: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def structure_and_model(structure: str, model_spec: str):
    """(atoms, model) for a structure file or ``example:NAME`` and a model file or bundled name.

    The model's elements are checked against the structure here, so the message can point to
    ``--model``; ``ValueError`` if the structure has elements the model does not know.
    """
    atoms = read_structure(structure)
    model = load(model_spec)
    unknown = unknown_elements(atoms, model.species)
    if unknown:
        raise ValueError(f"{structure} has elements {unknown} that the model {str(model_spec)!r} does not know "
                         f"(it knows {list(model.species)}); give a model trained on them with --model")
    warning = domain_warning(str(model_spec), atoms)
    if warning:
        print(f"warning: {warning}")
    return atoms, model


def output_folder(path) -> Path:
    """``path`` as a folder results can be written into (created later, by ``staged_output``).

    ``ValueError`` if it exists and is not a folder, or if it (or, when it does not exist yet, the
    nearest folder above it that does) is not writable: checked before anything is computed.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {path} exists and is not a folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    try:  # a probe file, removed at once (permission bits say little to root or on special file systems)
        if not existing.is_dir():
            raise NotADirectoryError(existing)
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError:
        raise ValueError(f"--out {path}: {existing} is not a writable folder") from None
    return path


@contextmanager
def staged_output(out: Path):
    """A fresh folder inside ``out`` to write a run's files into; when the block ends normally its
    files move into ``out`` (each an atomic rename), else it is removed, so an interrupted or
    failed run leaves no partial set of files looking complete."""
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    try:
        yield stage
        for path in sorted(stage.iterdir()):
            os.replace(path, out / path.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def model_summary(model_spec: str, model) -> str:
    """The model for the log: its name as given (and the one it stands for), class, elements, cutoff
    and layers, and on a second line its training data when it has a model card."""
    name = registry.resolve(str(model_spec))
    card = registry.card(model_spec)
    return (f"{model_spec}{f' = {name}' if name != model_spec else ''} ({model.describe()})"
            + (f"\n  trained on {card.training_data}" if card is not None else ""))
