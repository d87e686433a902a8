"""The package's layering: every module imports only packages below its own, at module level.

``LAYERS`` is the one statement of the package's shape (README's layout table follows it). A
module of layer k may import its own package and packages of layers < k; two packages of one
layer are independent. Imports of phonax_fast inside functions are not allowed at all: they are
how cycles hide. The test reads the source with ``ast`` (nothing is imported).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "phonax_fast"

LAYERS = [
    {"_core"},  # the compiled extension
    {"units", "fileio", "progress", "resources", "_native"},  # foundations: constants, atomic files, progress, free memory, FFI registration
    {"harmonic", "graphs", "plotting"},  # force constants, dynamical matrices, symmetry; neighbour graphs; figures
    {"ops"},  # the tensor-product convolution (e3nn reference, fused primitive)
    {"models"},  # energy models and their files
    {"derivatives"},  # energy, forces, stress, Hessian-vector products
    {"dielectric"},  # field derivatives (P, α, Z*), also on training batches
    {"calculator", "forceconstants", "qgrid", "interop"},  # ASE calculator; Hessians; q-mesh engine; files
    {"vibrations", "relaxation"},  # molecular vibrations, point groups, irreps; relaxation with a model
    {"phonons"},  # the Phonons facade, bands
    {"training"},  # datasets, losses, trainer
    {"cli"},  # the command line
]
RANK = {name: k for k, layer in enumerate(LAYERS) for name in layer}


def _top(module_path: Path) -> str:
    """The package-level name of a module: ``qgrid`` for qgrid/dos.py, ``units`` for units.py."""
    parts = module_path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imported_tops(node: ast.AST, module_path: Path) -> list[str]:
    """phonax_fast top-level names that an import statement brings in ([] for third-party imports)."""
    parts = module_path.relative_to(PACKAGE).with_suffix("").parts
    package = list(parts[:-1]) if parts[-1] != "__init__" else list(parts[:-1])
    if isinstance(node, ast.Import):
        return [a.name.split(".")[1] for a in node.names if a.name.startswith("phonax_fast.")]
    if node.level == 0:
        if node.module == "phonax_fast":
            return [a.name for a in node.names]
        return [node.module.split(".")[1]] if node.module and node.module.startswith("phonax_fast.") else []
    base = package[: len(package) - (node.level - 1)]
    if node.level - 1 > len(package):
        raise AssertionError(f"{module_path}: relative import beyond the package")
    target = base + (node.module.split(".") if node.module else [])
    if target:
        return [target[0]]
    return [a.name for a in node.names]  # ``from . import x`` in the package root


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def violations(root_files=None) -> list[str]:
    """Every upward or sideways import and every function-local phonax_fast import, as messages."""
    found = []
    for path in root_files or _modules():
        top = _top(path)
        if top == "__init__":
            continue  # the package root re-exports everything
        tree = ast.parse(path.read_text(), filename=str(path))
        local = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
            for target in _imported_tops(node, path):
                if target == top:
                    if id(node) in local:
                        found.append(f"{where}: function-local import inside {top}")
                    continue
                if target not in RANK:
                    found.append(f"{where}: imports {target}, which has no layer in LAYERS")
                elif top not in RANK:
                    found.append(f"{where}: module {top} has no layer in LAYERS")
                elif RANK[target] >= RANK[top]:
                    found.append(f"{where}: {top} (layer {RANK[top]}) imports {target} (layer {RANK[target]})")
                elif id(node) in local:
                    found.append(f"{where}: function-local import of {target}")
    return found


def test_every_module_has_a_layer():
    missing = sorted({_top(p) for p in _modules()} - set(RANK) - {"__init__"})
    assert not missing, f"add these to LAYERS: {missing}"


def test_imports_point_down():
    assert violations() == []


@pytest.mark.parametrize(
    "source, message",
    [
        ("from ..phonons import Phonons\n", "harmonic (layer 2) imports phonons (layer 9)"),
        ("from ..graphs import Graph\n", "harmonic (layer 2) imports graphs (layer 2)"),
        ("def f():\n    from ..units import EV\n", "function-local import of units"),
        ("import phonax_fast.qgrid\n", "harmonic (layer 2) imports qgrid"),
    ],
)
def test_a_violation_is_caught(tmp_path, monkeypatch, source, message):
    """The checker fails on a deliberate upward, sideways or function-local import."""
    fake = PACKAGE / "harmonic" / "_deliberate_violation.py"
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source if self == fake else Path.read_bytes(self).decode())
    found = violations([fake])
    assert len(found) == 1 and message in found[0], found
