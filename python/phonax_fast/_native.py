"""The compiled extension ``phonax_fast._core``: FFI target registration and build information.

Importing this module registers every XLA FFI handler of ``_core`` with JAX: the CPU handlers
always, the CUDA handlers when the extension was compiled with them (XLA keeps a registration for
a platform whose backend is absent and applies it once a CUDA backend appears).

The type stub ``_core.pyi`` is generated after a build with
``pybind11-stubgen phonax_fast._core -o python`` (run from the repository root).
"""

from __future__ import annotations

import jax

from . import _core

_PLATFORMS = {"cpu": "cpu", "cuda": "CUDA"}


def _register_targets() -> frozenset[str]:
    """Registers the FFI handlers of ``_core``; returns the platforms that have them."""
    platforms = set()
    for platform, targets in _core.registrations().items():
        for name, capsule in targets.items():
            jax.ffi.register_ffi_target(name, capsule, platform=_PLATFORMS[platform])
            platforms.add(platform)
    return frozenset(platforms)


REGISTERED_PLATFORMS = _register_targets()


def has_cuda_devices() -> bool:
    """Whether JAX sees a CUDA device (initialises JAX's backends)."""
    try:
        return len(jax.devices("cuda")) > 0
    except RuntimeError:
        return False


def version() -> str:
    """The version of the compiled extension (that of the package)."""
    return str(_core.build_info()["version"])


def build_info() -> dict:
    """What this installation can run.

    Returns:
        dict with ``version`` (of the compiled extension), ``backends`` (platforms with compiled
        kernels, e.g. ``["cpu", "cuda"]``), ``runnable`` (those of them that can run here: the CPU
        always, CUDA when JAX sees a CUDA device), ``jax`` (jax version) and ``cuda`` (True when
        the CUDA kernels are compiled and JAX sees a CUDA device).
    """
    info = _core.build_info()
    backends = list(info["backends"])
    cuda = "cuda" in backends and has_cuda_devices()
    return {
        "version": info["version"],
        "backends": backends,
        "runnable": [b for b in backends if b == "cpu" or (b == "cuda" and cuda)],
        "jax": jax.__version__,
        "cuda": cuda,
    }
