"""The ``"cupy"`` eigen-solver of the q-grid engine against the host path.

Without a GPU its code runs with numpy standing in for cupy (the same array calls), which checks
the steps and the bookkeeping; the ``gpu`` test runs it with cupy on a CUDA device, where stacks of
matrices go to cuSOLVER's batched Jacobi solver (anatase: 36 modes, above its 32 × 32 fast path).
"""

import contextlib
import sys
import types

import numpy as np
import pytest

from phonax_fast.interop.phonopy_import import force_constants_from_phonopy
from phonax_fast.qgrid import MeshSolver, mesh_projected_dos
from reference_data import load_tio2


class NumpyAsCupy(types.ModuleType):
    """numpy under cupy's name, with the few cupy-only calls the solver makes."""

    def __init__(self):
        super().__init__("cupy")
        self.asnumpy = np.asarray
        self.cuda = types.SimpleNamespace(
            Device=lambda ordinal=None: contextlib.nullcontext(),
            runtime=types.SimpleNamespace(getDeviceCount=lambda: 1, memGetInfo=lambda: (2**30, 2**31)))

    def __getattr__(self, name):
        return getattr(np, name)


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", NumpyAsCupy())
    errstates = []
    cupyx = types.SimpleNamespace(errstate=lambda **modes: errstates.append(modes) or contextlib.nullcontext())
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    return errstates


@pytest.fixture(scope="module", params=["nacl", "tio2"])
def crystal(request, phonopy_nacl):
    return force_constants_from_phonopy(phonopy_nacl if request.param == "nacl" else load_tio2())


def _compare(fcs, real_form):
    q = np.random.default_rng(5).uniform(-1, 1, size=(13, 3))
    cupy = MeshSolver(fcs, eigensolver="cupy", progress=None, chunk_size=4, real_form=real_form)
    assert (cupy.form is not None) == real_form
    host = MeshSolver(fcs, eigensolver="host", progress=None, real_form=False)
    np.testing.assert_allclose(cupy.frequencies(q), host.frequencies(q), rtol=0, atol=1e-9)
    options = dict(method="gaussian", sigma=0.2, progress=None, shift=(1, 1, 1), projection="xyz", chunk_size=5)
    _, pdos = mesh_projected_dos(fcs, 4, eigensolver="cupy", real_form=real_form, **options)
    _, reference = mesh_projected_dos(fcs, 4, eigensolver="host", real_form=False, **options)
    np.testing.assert_allclose(pdos, reference, rtol=0, atol=1e-10 * reference.max())


@pytest.mark.parametrize("real_form", [True, False])
def test_cupy_path_matches_host_path(stand_in, crystal, real_form):
    _compare(crystal, real_form)
    assert stand_in and all(modes == {"linalg": "raise"} for modes in stand_in)  # solver failures raise


def test_cupy_path_hermitises_like_the_host_path(stand_in, phonopy_si):
    """Force constants with an anti-Hermitian part: cupy's eigh reads one triangle, so the path must
    hand it (D + D†)/2, as the host path and ``ForceConstants.frequencies`` do."""
    import dataclasses

    fcs = force_constants_from_phonopy(phonopy_si)
    noise = np.random.default_rng(2).normal(scale=1e-3, size=fcs.fc.shape)
    noisy = dataclasses.replace(fcs, fc=fcs.fc + noise)
    q = np.random.default_rng(6).uniform(-1, 1, size=(7, 3))
    solver = MeshSolver(noisy, eigensolver="cupy", progress=None)
    assert solver.form is None and solver._hermitise
    np.testing.assert_allclose(solver.frequencies(q), noisy.frequencies(q), rtol=0, atol=1e-9)


def _compare_nac():
    from reference_data import load_polar

    fcs = force_constants_from_phonopy(load_polar("ZnO"))  # Gonze–Lee: the Ewald sum runs on the GPU
    q = np.random.default_rng(7).uniform(-1, 1, size=(9, 3))
    cupy = MeshSolver(fcs, eigensolver="cupy", progress=None, chunk_size=4)
    assert cupy.form is None  # no real form with a non-analytic correction
    np.testing.assert_allclose(cupy.frequencies(q), fcs.frequencies(q), rtol=0, atol=1e-9)


def test_cupy_path_includes_nac(stand_in):
    _compare_nac()


def test_cupy_path_needs_cupy(monkeypatch, phonopy_si):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    with pytest.raises(ValueError, match=r"eigensolver='cupy' needs cupy and a CUDA GPU"):
        MeshSolver(force_constants_from_phonopy(phonopy_si), eigensolver="cupy", progress=None)


@pytest.mark.gpu
@pytest.mark.parametrize("real_form", [True, False])
def test_cupy_path_on_the_gpu(crystal, real_form):
    pytest.importorskip("cupy")
    _compare(crystal, real_form)


@pytest.mark.gpu
def test_cupy_path_with_nac_on_the_gpu():
    pytest.importorskip("cupy")
    _compare_nac()
