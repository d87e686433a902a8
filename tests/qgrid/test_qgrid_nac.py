"""The q-grid engine with the non-analytic correction against phonopy (DFT NaCl and ZnO with BORN).

Tolerances as for the engine without NAC (test_qgrid_phonopy.py): DOS to 1e-4 of its peak,
thermal properties to 1e-6 relative, for both eigen-solver paths and both methods.
"""

import numpy as np
import pytest

from phonax_fast.interop.phonopy_import import force_constants_from_phonopy
from phonax_fast.qgrid import mesh_dos, mesh_projected_dos, mesh_thermal_properties
from reference_data import load_polar

MESH = 10


@pytest.fixture(scope="module", params=[("NaCl", "gonze"), ("NaCl", "wang"), ("ZnO", "gonze")], ids="-".join)
def polar(request):
    ph = load_polar(*request.param)
    ph.run_mesh([MESH] * 3, is_gamma_center=True)
    return ph, force_constants_from_phonopy(ph)


@pytest.mark.parametrize("eigensolver", ["host", "jax"])
def test_total_dos_matches_phonopy(polar, eigensolver):
    ph, fcs = polar
    ph.run_total_dos(use_tetrahedron_method=True)
    freqs, dos = mesh_dos(fcs, MESH, eigensolver=eigensolver, progress=None)
    np.testing.assert_allclose(freqs, ph.total_dos.frequency_points, atol=1e-6)
    assert np.abs(dos - ph.total_dos.dos).max() <= 1e-4 * ph.total_dos.dos.max()


def test_thermal_properties_match_phonopy(polar):
    ph, fcs = polar
    temperatures = [10, 300, 1000]
    ph.run_thermal_properties(temperatures=temperatures, exclude_gamma_acoustic=True)
    ours = mesh_thermal_properties(fcs, MESH, temperatures, progress=None)
    for key in ("free_energy", "entropy", "heat_capacity"):
        np.testing.assert_allclose(ours[key], getattr(ph.thermal_properties, key), rtol=1e-6, err_msg=key)


def test_projected_dos_matches_phonopy():
    ph = load_polar("NaCl")
    fcs = force_constants_from_phonopy(ph)
    ph.run_mesh([8, 8, 8], is_gamma_center=True, with_eigenvectors=True, is_mesh_symmetry=False)
    ph.run_projected_dos(use_tetrahedron_method=True)
    _, pdos = mesh_projected_dos(fcs, 8, progress=None)
    ref = ph.projected_dos.projected_dos
    assert np.abs(pdos - ref).max() <= 1e-4 * ref.max()


def test_nac_changes_the_dos(polar):
    """The correction matters on this mesh (so the comparisons above can fail)."""
    import dataclasses

    _, fcs = polar
    with_nac = mesh_dos(fcs, MESH, progress=None)[1]
    without = mesh_dos(dataclasses.replace(fcs, nac=None), MESH, freq_points=mesh_dos(fcs, MESH, progress=None)[0],
                       progress=None)[1]
    assert np.abs(with_nac - without).max() > 0.05 * with_nac.max()
