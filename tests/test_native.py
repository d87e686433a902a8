"""The compiled extension: build information, FFI registrations and the shipped type stub."""

import ast
import importlib.metadata
from pathlib import Path

import jax

import phonax_fast as pf
from phonax_fast import _core


def test_build_info():
    info = pf.build_info()
    assert set(info) == {"version", "backends", "runnable", "jax", "cuda"}
    assert info["version"] == importlib.metadata.version("phonax_fast")
    assert "cpu" in info["backends"]
    assert info["jax"] == jax.__version__
    assert info["cuda"] == ("cuda" in info["backends"] and any(d.platform == "gpu" for d in jax.devices()))
    assert info["runnable"] == ["cpu", *(["cuda"] if info["cuda"] else [])]


def test_registrations_hold_the_tp_conv_targets():
    targets = _core.registrations()
    assert "phonax_tp_conv" in targets["cpu"]
    assert ("phonax_tp_conv" in targets["cuda"]) == ("cuda" in pf.build_info()["backends"])


def test_stub_lists_every_function():
    stub = ast.parse((Path(pf.__file__).parent / "_core.pyi").read_text())
    stubbed = {node.name for node in stub.body if isinstance(node, ast.FunctionDef)}
    public = {name for name in dir(_core) if not name.startswith("_")}
    assert stubbed == public
