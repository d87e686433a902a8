"""The non-analytic correction against phonopy on phonopy's DFT data with BORN files.

NaCl and MgO (rocksalt, isotropic ε∞) and wurtzite ZnO (anisotropic ε∞ and Z*), both methods:
frequencies at Γ along three directions and at general q-points equal phonopy's to 1e-5 THz (the
acceptance asks 1e-4; we see ~3e-7, which is the rounding of the force constants phonopy loads
with and without NAC, not of the correction: phonopy itself given our force constants and
parameters agrees with us to 1e-13, ``test_phonopy_reproduces_exported_nac``).
"""

import dataclasses

import numpy as np
import pytest

from phonax_fast.harmonic.nac import charge_neutrality_residual, validate_born_epsilon
from phonax_fast.interop.nac import with_nac
from phonax_fast.interop.phonopy_import import force_constants_from_phonopy
from reference_data import POLAR, load_polar

TOLERANCE = 1e-5  # THz
DIRECTIONS = ([1, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 1])


@pytest.fixture(scope="module", params=[(name, method) for name in POLAR for method in ("gonze", "wang")],
                ids=lambda p: "-".join(p))
def polar(request):
    ph = load_polar(*request.param)
    return ph, force_constants_from_phonopy(ph)


def test_gamma_along_directions_matches_phonopy(polar):
    ph, fcs = polar
    for direction in DIRECTIONS:
        ph.run_qpoints([[0, 0, 0]], nac_q_direction=direction)
        ours = fcs.frequencies([[0, 0, 0]], q_direction=direction)
        np.testing.assert_allclose(ours, ph.qpoints.frequencies, rtol=0, atol=TOLERANCE, err_msg=str(direction))
    ph.run_qpoints([[0, 0, 0]])  # no direction: the analytic part only, as phonopy
    np.testing.assert_allclose(fcs.frequencies([[0, 0, 0]]), ph.qpoints.frequencies, rtol=0, atol=TOLERANCE)


def test_lo_to_splitting_is_there(polar):
    ph, fcs = polar
    along = fcs.frequencies([[0, 0, 0]], q_direction=[1, 0, 0])[0]
    without = fcs.frequencies([[0, 0, 0]])[0]
    assert np.abs(along - without).max() > 2.0  # THz: LO above TO (NaCl 4.6 → 7.4, ZnO 11.2 → 15.2 THz)


def test_general_qpoints_match_phonopy(polar):
    ph, fcs = polar
    q = np.vstack([np.random.default_rng(3).uniform(-1, 1, size=(12, 3)), [[0.5, 0.5, 0.5], [1, 0, 0], [1e-3, 0, 0]]])
    ph.run_qpoints(q)
    np.testing.assert_allclose(fcs.frequencies(q), ph.qpoints.frequencies, rtol=0, atol=TOLERANCE)


def test_dynamical_matrices_are_hermitian(polar):
    _, fcs = polar
    d = fcs.dynamical_matrices(np.random.default_rng(4).uniform(-0.5, 0.5, size=(4, 3)), hermitise=False)
    assert np.abs(d - d.conj().swapaxes(1, 2)).max() <= 1e-10 * np.abs(d).max()


def test_phonopy_reproduces_exported_nac(polar):
    """phonopy, given our force constants and NAC parameters on our supercell, gives our numbers."""
    from phonax_fast.interop.phonopy_export import to_phonopy

    _, fcs = polar
    exported = to_phonopy(fcs)
    assert exported.nac_params["method"] == fcs.nac.method
    q = np.random.default_rng(5).uniform(-1, 1, size=(6, 3))
    exported.run_qpoints(q)
    np.testing.assert_allclose(fcs.frequencies(q), exported.qpoints.frequencies, rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ["gonze", "wang"])
def test_with_nac_equals_phonopy_on_the_same_supercell(method):
    """Charges set by the user on force constants without NAC (the path of model force constants),
    on phonopy's supercell: phonopy's own NAC from the DFT files with BORN."""
    ph = load_polar("NaCl", method)
    plain = dataclasses.replace(force_constants_from_phonopy(ph), nac=None)
    matrix = np.rint(ph.supercell.cell @ np.linalg.inv(ph.primitive.cell)).astype(int)
    ours = with_nac(plain, ph.nac_params["born"], ph.nac_params["dielectric"], method=method,
                    factor=ph.nac_params["factor"], supercell=matrix)
    np.testing.assert_array_equal(ours.nac.supercell_matrix, matrix)
    q = np.random.default_rng(6).uniform(-1, 1, size=(6, 3))
    ph.run_qpoints(q)
    np.testing.assert_allclose(ours.frequencies(q), ph.qpoints.frequencies, rtol=0, atol=TOLERANCE)
    # a direction only where q is Γ: phonopy's Rust kernel (its default) uses it for Wang's term at
    # every q, its C kernel and its documentation only at Γ, as we do
    ph.run_qpoints([[0, 0, 0]], nac_q_direction=[1, 1, 0])
    np.testing.assert_allclose(ours.frequencies([[0, 0, 0]], q_direction=[1, 1, 0]), ph.qpoints.frequencies, rtol=0,
                               atol=TOLERANCE)


def test_default_supercell_holds_the_force_constants():
    """Without a supercell the correction refers to the smallest one that holds the force
    constants exactly; phonopy, given that supercell and the charges, agrees."""
    from phonax_fast.interop.phonopy_export import supercell_dimensions, to_phonopy

    ph = load_polar("ZnO")
    imported = force_constants_from_phonopy(ph)  # knows phonopy's supercell: the correction refers to it
    np.testing.assert_array_equal(imported.supercell, ph.supercell_matrix.T)
    charges = ph.nac_params["born"], ph.nac_params["dielectric"]
    np.testing.assert_array_equal(with_nac(imported, *charges).nac.supercell_matrix, ph.supercell_matrix.T)
    plain = dataclasses.replace(imported, nac=None, supercell=None)
    ours = with_nac(plain, *charges, factor=ph.nac_params["factor"])
    np.testing.assert_array_equal(ours.nac.supercell_matrix, np.diag(supercell_dimensions(plain)))
    ref = to_phonopy(plain, symmetry=True)  # phonopy symmetrises the charges and makes them neutral itself
    ref.nac_params = dict(ph.nac_params)
    q = np.random.default_rng(8).uniform(-1, 1, size=(5, 3))
    ref.run_qpoints(q)
    np.testing.assert_allclose(ours.frequencies(q), ref.qpoints.frequencies, rtol=0, atol=1e-8)


def test_charge_neutrality_is_imposed_and_reported():
    ph = load_polar("NaCl")
    plain = dataclasses.replace(force_constants_from_phonopy(ph), nac=None)
    born = np.array(ph.nac_params["born"]) + 0.05 * np.eye(3)  # Σ Z* = 0.1 on the diagonal
    fcs = with_nac(plain, born, ph.nac_params["dielectric"])
    assert fcs.nac.charge_residual == pytest.approx(0.1)
    assert charge_neutrality_residual(fcs.nac.born) < 1e-12
    np.testing.assert_allclose(fcs.nac.born, ph.nac_params["born"], atol=1e-12)  # phonopy's: the mean removed


@pytest.mark.parametrize(("born", "epsilon", "message"), [
    (np.zeros((3, 3, 3)), np.eye(3), "2 atoms"),  # charges for 3 atoms of a 2-atom cell
    (np.zeros((2, 3)), np.eye(3), "shape"),
    (np.zeros((2, 3, 3)), np.eye(2), "3×3"),
    (np.zeros((2, 3, 3)), np.array([[2.0, 0.5, 0], [0, 2, 0], [0, 0, 2]]), "not symmetric"),
    (np.zeros((2, 3, 3)), -np.eye(3), "positive definite"),
    (np.zeros((2, 3, 3)), np.diag([2.0, 0.0, 2.0]), "positive definite"),
    (np.full((2, 3, 3), np.nan), np.eye(3), "finite"),
    ("charges", np.eye(3), "numeric"),
])
def test_bad_nac_input_is_named(born, epsilon, message):
    with pytest.raises(ValueError, match=message):
        validate_born_epsilon(born, epsilon, 2)


def test_bad_method_is_named():
    ph = load_polar("NaCl")
    with pytest.raises(ValueError, match="method"):
        with_nac(force_constants_from_phonopy(ph), ph.nac_params["born"], ph.nac_params["dielectric"], method="ewald")


def test_native_ewald_terms_equal_the_array_expression(polar):
    """The numpy path's native elementwise loop (core/ewald.h) and the expression that jax.numpy and
    cupy trace give the same damped outer products, where q + G vanishes too (with a direction and
    without); both are checked against phonopy above, this pins the edge cases of the loop."""
    import jax.numpy as jnp

    _, fcs = polar
    nac = fcs.nac
    if nac.method != "gonze":
        pytest.skip("the Ewald sum is Gonze–Lee's")
    g_reduced = nac.g_vectors @ np.linalg.inv(nac.reciprocal).T
    q = np.vstack([np.zeros(3), -g_reduced[1], [0.1, -0.2, 0.3], [0.5, 0.5, 0.0]])
    directions = np.array([[1.0, 0, 0], [0, 1.0, 1.0], [0, 0, 0], [1.0, 1.0, 1.0]])
    for d in (None, directions):
        ours = nac.term(np, q, d)
        traced = np.asarray(nac.term(jnp, q, d))
        np.testing.assert_allclose(ours, traced, rtol=0, atol=1e-12 * np.abs(ours).max())
