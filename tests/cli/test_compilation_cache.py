"""The CLI keeps JAX's compiled functions in a persistent cache, so a second run reuses them."""

import os
import subprocess
import sys

import pytest


def _run(args, env):
    return subprocess.run([sys.executable, "-m", "phonax_fast.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow  # two CLI runs in fresh processes; in CI's slow tier
def test_second_run_reads_the_cache(tmp_path):
    cache = tmp_path / "cache"
    env = dict(os.environ, PHONAX_FAST_CACHE_DIR=str(cache), JAX_PLATFORMS="cpu")
    args = ["phonons", "example:Si", "--model", "demo", "--out", str(tmp_path / "out"), "--npoints", "12", "--mesh", "2",
            "2", "2"]
    first = _run(args, env)
    assert first.returncode == 0, first.stderr
    entries = {p.name for p in cache.rglob("*") if p.is_file()}
    assert entries  # the compiled functions were written
    second = _run(args, env)
    assert second.returncode == 0, second.stderr
    assert {p.name for p in cache.rglob("*") if p.is_file()} == entries  # nothing new to compile: all read back
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]


def test_cache_can_be_turned_off(tmp_path):
    env = dict(os.environ, PHONAX_FAST_CACHE_DIR="none", HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    result = _run(["info"], env)
    assert result.returncode == 0 and not (tmp_path / "xdg" / "phonax_fast").exists()
