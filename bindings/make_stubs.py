"""Regenerates python/phonax_fast/_core.pyi with pybind11-stubgen (run after a build).

    python bindings/make_stubs.py

pybind11-stubgen (with --numpy-array-remove-parameters: nanobind array signatures are not Python
expressions) recognises functions through ``inspect.isroutine``, which nanobind's function
objects do not satisfy; they are taught to it here, and their signatures are read from the first
line of their docstrings as for pybind11 functions.
"""

import inspect
import sys
from pathlib import Path

import pybind11_stubgen

_isroutine = inspect.isroutine


def _is_routine(obj) -> bool:
    return _isroutine(obj) or hasattr(obj, "__nb_signature__")


if __name__ == "__main__":
    inspect.isroutine = _is_routine
    root = Path(__file__).resolve().parents[1]
    sys.argv = ["pybind11-stubgen", "phonax_fast._core", "-o", str(root / "python"),
                "--numpy-array-remove-parameters"]
    pybind11_stubgen.main()
