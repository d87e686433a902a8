"""The installed package never reaches the network or pip: data it needs are given to it.

Two checks: every module of ``phonax_fast`` imports in a fresh interpreter whose sockets refuse to
connect and whose ``subprocess`` refuses to start pip (and none of them pulls in ``studies/``, where
downloads and reference-data generators live); and the package's source (read with ``ast``) holds
no download calls: no import of a network client (``urllib.request``, ``requests``, ``http.client``,
pip, …) and no command line that runs pip (``[sys.executable, "-m", "pip", …]``,
``os.system("pip install …")``). Messages that tell a user what to ``pip install`` are fine.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
PACKAGE = REPOSITORY / "python" / "phonax_fast"
NETWORK_MODULES = ("urllib.request", "urllib3", "requests", "httpx", "aiohttp", "http.client", "ftplib", "pip")
PIP_WORDS = {"pip", "pip3"}

IMPORT_ALL = textwrap.dedent(
    """
    import importlib, pkgutil, socket, subprocess, sys

    def refuse(*args, **kwargs):
        raise OSError("network access while importing phonax_fast (disabled by test_no_network)")

    socket.socket.connect = socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    popen_init = subprocess.Popen.__init__

    def no_pip(self, args, *rest, **kwargs):
        words = [str(a) for a in args] if isinstance(args, (list, tuple)) else str(args).split()
        if any(w.rsplit("/", 1)[-1] in ("pip", "pip3") for w in words):
            raise OSError(f"pip started while importing phonax_fast: {args}")
        popen_init(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = no_pip
    import phonax_fast

    names = [m.name for m in pkgutil.walk_packages(phonax_fast.__path__, "phonax_fast.")
             if not m.name.endswith("__main__")]  # __main__ would run the command line
    for name in names:
        importlib.import_module(name)
    studies = sorted(m for m in sys.modules if m == "studies" or m.startswith("studies."))
    assert not studies, f"the package imports {studies}"
    print(len(names), "modules")
    """
)


def test_every_module_imports_without_network():
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=REPOSITORY, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    assert int(out.stdout.split()[-2]) > 30  # the walk found the package's modules


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` of a Name/Attribute chain, "" for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _is_pip_argv(node: ast.AST) -> bool:
    """A list or tuple literal with an element "pip": an argv like ``[python, "-m", "pip", …]``."""
    return isinstance(node, (ast.List, ast.Tuple)) and any(
        isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value in PIP_WORDS for e in node.elts)


def _runs_pip_shell(call: ast.Call) -> bool:
    """A call with a shell command string that starts with pip (``os.system("pip install …")``).
    A message that merely mentions pip is not one."""
    return any(isinstance(a, ast.Constant) and isinstance(a.value, str) and (a.value.split() or [""])[0] in PIP_WORDS
               for a in [*call.args, *(k.value for k in call.keywords)])


def download_calls(path: Path, source: str | None = None) -> list[str]:
    """Network-client imports and pip command lines in one source file, as messages."""
    tree = ast.parse(source if source is not None else path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if _is_pip_argv(node):
            found.append(f"{where}: runs pip (a pip command line)")
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name.rsplit(".", 1)[-1] in {"urlopen", "urlretrieve"}:
                found.append(f"{where}: calls {name}")
            elif _runs_pip_shell(node):
                found.append(f"{where}: runs pip through {name or 'a call'}")
            continue
        else:
            continue
        network = [n for n in names if any(n == m or n.startswith(m + ".") for m in NETWORK_MODULES)]
        if network:
            found.append(f"{where}: imports {network[0]}")
    return found


def test_the_package_source_has_no_download_calls():
    modules = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    assert len(modules) > 30
    found = [message for path in modules for message in download_calls(path)]
    assert found == [], found


@pytest.mark.parametrize(
    "source, message",
    [
        ('import subprocess, sys\nsubprocess.run([sys.executable, "-m", "pip", "download", "phonopy"])\n', "runs pip"),
        ('import os\nos.system("pip install phonopy")\n', "runs pip"),
        ("import urllib.request\n", "imports urllib.request"),
        ("from urllib.request import urlretrieve\n", "imports urllib.request"),
        ("import requests\n", "imports requests"),
        ("from x import urlopen\nurlopen('https://example.org')\n", "calls urlopen"),
    ],
)
def test_a_download_is_caught(source, message):
    found = download_calls(Path("deliberate.py"), source)
    assert len(found) == 1 and message in found[0], found


def test_a_user_hint_is_not_a_download():
    hint = 'raise ValueError(f"eigensolver=\'cupy\' needs cupy (pip install \'phonax_fast[gpu]\'): {err}")\n'
    assert download_calls(Path("hint.py"), hint) == []


def test_the_studies_sdist_fetcher_would_be_caught():
    """studies/phonopy_sdist.py (moved out of the package) downloads with pip: the check sees it."""
    path = REPOSITORY / "studies" / "phonopy_sdist.py"
    assert any("runs pip" in m for m in download_calls(path))
