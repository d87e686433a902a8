"""q-grid engine against phonopy on phonopy's own DFT data (Si, NaCl without NAC; with NAC: test_qgrid_nac.py)."""

import numpy as np
import pytest

from phonax_fast.interop.phonopy_import import force_constants_from_phonopy
from phonax_fast.qgrid import make_mesh, mesh_dos, mesh_frequencies, mesh_projected_dos, mesh_thermal_properties

MESH = 12


@pytest.fixture(scope="module", params=["si", "nacl"])
def crystal(request, phonopy_si, phonopy_nacl):
    """(phonopy object, our ForceConstants), phonopy's mesh already run Γ-centred."""
    ph = {"si": phonopy_si, "nacl": phonopy_nacl}[request.param]
    ph.run_mesh([MESH] * 3, is_gamma_center=True)
    return ph, force_constants_from_phonopy(ph)


def test_bridge_reproduces_phonopy_frequencies(crystal):
    ph, fcs = crystal
    q = np.random.default_rng(0).uniform(-1, 1, size=(25, 3))
    ph.run_qpoints(q)
    np.testing.assert_allclose(fcs.frequencies(q), ph.qpoints.frequencies, rtol=0, atol=1e-8)


def test_bridge_reads_full_force_constants(phonopy_si):
    import phonopy
    from reference_data import si_params

    full = phonopy.load(si_params(), produce_fc=True, is_compact_fc=False, log_level=0)
    q = np.random.default_rng(1).uniform(-1, 1, size=(10, 3))
    a = force_constants_from_phonopy(full).frequencies(q)
    np.testing.assert_allclose(a, force_constants_from_phonopy(phonopy_si).frequencies(q), atol=1e-10)


def test_bridge_carries_nac_over(phonopy_nacl):
    from reference_data import load_polar

    assert force_constants_from_phonopy(phonopy_nacl).nac is None
    nac = force_constants_from_phonopy(load_polar("NaCl")).nac
    assert nac is not None and nac.method == "gonze" and nac.born.shape == (2, 3, 3)


def test_irreducible_mesh_is_phonopys(crystal):
    ph, fcs = crystal
    qmesh = make_mesh(fcs, MESH)
    np.testing.assert_array_equal(np.sort(qmesh.ir_grid_points), np.sort(ph.mesh.ir_grid_points))
    order, ph_order = np.argsort(qmesh.ir_grid_points), np.argsort(ph.mesh.ir_grid_points)
    np.testing.assert_array_equal(qmesh.weights[order], ph.mesh.weights[ph_order])


@pytest.mark.parametrize("method", ["tetrahedron", "gaussian"])
def test_total_dos_matches_phonopy(crystal, method):
    ph, fcs = crystal
    if method == "tetrahedron":
        ph.run_total_dos(use_tetrahedron_method=True)
        freqs, dos = mesh_dos(fcs, MESH, progress=None)
    else:
        ph.run_total_dos(sigma=0.15, use_tetrahedron_method=False)
        freqs, dos = mesh_dos(fcs, MESH, method="gaussian", sigma=0.15, progress=None)
    ref = ph.total_dos
    np.testing.assert_allclose(freqs, ref.frequency_points, atol=1e-6)
    assert np.abs(dos - ref.dos).max() <= 1e-4 * ref.dos.max()


def test_thermal_properties_match_phonopy(crystal):
    ph, fcs = crystal
    temperatures = [10, 300, 1000]
    ph.run_thermal_properties(temperatures=temperatures, exclude_gamma_acoustic=True)
    ref = ph.thermal_properties
    ours = mesh_thermal_properties(fcs, MESH, temperatures, progress=None)
    for key in ("free_energy", "entropy", "heat_capacity"):
        np.testing.assert_allclose(ours[key], getattr(ref, key), rtol=1e-6, err_msg=key)
    assert ours["zero_point_energy"] == pytest.approx(ph.thermal_properties.zero_point_energy, rel=1e-6)


def test_stored_frequencies_give_the_same_results(phonopy_si):
    fcs = force_constants_from_phonopy(phonopy_si)
    stored = mesh_frequencies(fcs, 7, progress=None)
    streamed = mesh_thermal_properties(fcs, 7, [50, 300], progress=None)
    for key, value in stored.thermal_properties([50, 300]).items():
        np.testing.assert_allclose(value, streamed[key], rtol=1e-13, err_msg=key)
    np.testing.assert_array_equal(stored.dos()[1], mesh_dos(fcs, 7, progress=None)[1])


@pytest.mark.filterwarnings("ignore::phonopy.phonon.mesh.MeshSymmetryFallbackWarning")
def test_thermal_properties_shifted_mesh_match_phonopy_defaults(phonopy_nacl):
    fcs = force_constants_from_phonopy(phonopy_nacl)
    phonopy_nacl.run_mesh([8, 8, 8], is_gamma_center=False)  # phonopy shifts even meshes by default
    phonopy_nacl.run_thermal_properties(temperatures=[300])
    ref = phonopy_nacl.thermal_properties
    with pytest.warns(UserWarning, match="only time-reversal symmetry"):  # as phonopy, which warns too
        ours = mesh_thermal_properties(fcs, 8, [300], shift=(1, 1, 1), progress=None)
    for key in ("free_energy", "entropy", "heat_capacity"):
        np.testing.assert_allclose(ours[key], getattr(ref, key), rtol=1e-6, err_msg=key)


@pytest.mark.parametrize("method", ["tetrahedron", "gaussian"])
def test_projected_dos_matches_phonopy(phonopy_nacl, method):
    fcs = force_constants_from_phonopy(phonopy_nacl)
    phonopy_nacl.run_mesh([8, 8, 8], is_gamma_center=True, with_eigenvectors=True, is_mesh_symmetry=False)
    if method == "tetrahedron":
        phonopy_nacl.run_projected_dos(use_tetrahedron_method=True)
        freqs, pdos = mesh_projected_dos(fcs, 8, progress=None)
    else:
        phonopy_nacl.run_projected_dos(sigma=0.2, direction=[1, 1, 0])
        freqs, pdos = mesh_projected_dos(fcs, 8, method="gaussian", sigma=0.2, direction=[1, 1, 0], progress=None)
    ref = phonopy_nacl.projected_dos.projected_dos
    assert np.abs(pdos - ref).max() <= 1e-4 * ref.max()


def test_projected_dos_rows_add_up_to_total(phonopy_nacl):
    """The total DOS comes from a values-only eigen-solve, the projected one from a solve with
    eigenvectors: their eigenvalues differ at round-off, and at Γ the acoustic frequencies are
    √(round-off) ~ 1e-7 THz, which the narrow Gaussians at Γ carry into the DOS below ~1 THz at
    ~1e-9 of the peak (on a shifted mesh the two agree to 1e-15)."""
    fcs = force_constants_from_phonopy(phonopy_nacl)
    for method, tolerance in (("tetrahedron", 1e-10), ("gaussian", 1e-8)):
        freqs, total = mesh_dos(fcs, 6, method=method, symmetry=False, progress=None)
        for projection, rows in (("element", 2), ("xyz", 6)):
            _, pdos = mesh_projected_dos(fcs, 6, method=method, freq_points=freqs, projection=projection, progress=None)
            assert pdos.shape == (rows, len(freqs))
            np.testing.assert_allclose(pdos.sum(axis=0), total, rtol=0, atol=tolerance * total.max())


def test_results_do_not_depend_on_chunking(phonopy_si):
    fcs = force_constants_from_phonopy(phonopy_si)
    for eigensolver in ("host", "jax"):
        small = mesh_dos(fcs, 7, chunk_size=5, eigensolver=eigensolver, progress=None)[1]
        big = mesh_dos(fcs, 7, eigensolver=eigensolver, progress=None)[1]
        np.testing.assert_allclose(small, big, rtol=0, atol=1e-12 * big.max())


@pytest.fixture(scope="module")
def anatase():
    import warnings

    from reference_data import load_tio2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # phonopy's notes on how the data set was written
        return load_tio2()


@pytest.mark.parametrize(("mesh", "shift"), [((6, 6, 6), (0, 0, 0)), ((4, 4, 7), (0, 0, 0)), ((4, 4, 4), (0, 0, 1))])
def test_body_centred_tetragonal_meshes_match_phonopy(anatase, mesh, shift):
    """Anatase: unequal and shifted meshes, where phonopy keeps or drops point-group symmetry."""
    import warnings

    ph = anatase
    fcs = force_constants_from_phonopy(ph)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn when they fall back to time reversal only
        ph.run_mesh(list(mesh), is_gamma_center=True, shift=np.array(shift) * 0.5)
        qmesh = make_mesh(fcs, mesh, shift=shift)
        freqs, dos = mesh_dos(fcs, mesh, shift=shift, progress=None)
    np.testing.assert_array_equal(np.sort(qmesh.ir_grid_points), np.sort(ph.mesh.ir_grid_points))
    ph.run_total_dos(use_tetrahedron_method=True)
    ref = ph.total_dos.dos
    assert np.abs(dos - ref).max() <= 1e-4 * ref.max()
