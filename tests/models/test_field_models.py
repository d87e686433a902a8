"""FieldNequIP and FieldMACE (NequIP and MACE in a uniform electric field) and their dielectric
responses (phonax_fast.dielectric): finite differences, E(3) equivariance with reflections, the
field_order 0 limit, the read-out coupling's polynomial in E, the model file, bad input; every test
runs on both models and both field couplings ("layers", "readout"); FieldMACE's and the read-out
coupling's are in the slow tier (each case compiles its products for 10–30 s)."""

import jax
import numpy as np
import pytest
from ase.build import bulk, molecule
from scipy.spatial.transform import Rotation

import phonax_fast as pf
from phonax_fast import dielectric
from phonax_fast.graphs import periodic_graph

SPECIES = ["H", "B", "C", "N", "O"]
FIELD = np.array([0.05, -0.1, 0.08])  # V/Å
HYPERS = {  # lmax 2: 2e couples to the 2e part of E ⊗ E
    "FieldNequIP": (pf.models.NequIP, dict(cutoff=2.8, num_layers=1, lmax=2, channels=4)),
    "FieldMACE": (pf.models.MACE, dict(cutoff=2.8, num_layers=2, lmax=2, channels=4, correlation=2)),
}


@pytest.fixture(scope="module", params=["FieldNequIP", pytest.param("FieldMACE", marks=pytest.mark.slow)])
def field_class(request):
    return getattr(pf.models, request.param)


@pytest.fixture(scope="module", params=["layers", pytest.param("readout", marks=pytest.mark.slow)])
def model(field_class, request):
    return field_class.init(SPECIES, field_order=2, field_coupling=request.param, seed=3,
                            **HYPERS[field_class.__name__][1])


def formaldehyde():
    atoms = molecule("H2CO")
    atoms.rattle(0.05, seed=1)
    return atoms


def boron_nitride():
    """Zincblende BN (2 atoms), sheared and rattled: a polar crystal without symmetry."""
    atoms = bulk("BN", "zincblende", a=3.615)
    atoms.set_cell(atoms.cell[:] @ (np.eye(3) + [[0.02, 0.01, 0.0], [0.0, -0.01, 0.015], [0.01, 0.0, 0.01]]),
                   scale_atoms=True)
    atoms.rattle(0.05, seed=2)
    return atoms


def graph(model, atoms):
    return periodic_graph(atoms, model.cutoff, model.species)


def central_difference(fun, x, h=1e-3):
    """d fun / dx by the fourth-order central stencil, (x.size, *fun(x).shape) (one row per coordinate)."""
    x = np.asarray(x, dtype=float)
    rows = []
    for k in range(x.size):
        step = np.zeros(x.size)
        step[k] = h
        step = step.reshape(x.shape)
        f = [np.asarray(fun(x + s * step)) for s in (-2, -1, 1, 2)]
        rows.append((f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h))
    return np.stack(rows)


def assert_close(actual, expected, rtol):
    """max |actual − expected| ≤ rtol · max |expected|."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= rtol * np.abs(expected).max(), np.abs(actual - expected).max()


def test_responses_match_finite_differences(model):
    """P, α, Z*, dP/dx and dα/dx against central differences of the same model (float64).

    Fourth-order stencil, steps 1e-3 V/Å and 1e-3 Å: truncation ~h⁴ ≈ 1e-12 and rounding
    ~1e-16/h ≈ 1e-13 relative, so 1e-8 (relative to the largest entry) leaves a wide margin
    (measured: 1e-12 to 2e-10) while catching any wrong sign, axis or factor."""
    g = graph(model, formaldehyde())
    r = dielectric.field_response(model, g, FIELD)
    n = g.num_nodes
    assert r.dipole.shape == (3,) and r.polarizability.shape == (3, 3) and r.born_charges.shape == (n, 3, 3)
    assert r.dipole_derivatives.shape == (n, 3, 3) and r.polarizability_derivatives.shape == (n, 3, 3, 3)
    assert r.polarizability.dtype == np.float64 and np.abs(r.polarizability).max() > 1e-3

    def at_field(e):
        out = dielectric.field_response(model, g, e)
        return np.concatenate([[out.energy], out.dipole, out.forces.ravel()])

    d = central_difference(at_field, FIELD)  # (3 field components, 1 + 3 + 3N)
    assert_close(r.dipole, -d[:, 0], 1e-8)
    assert_close(r.polarizability, d[:, 1:4].T, 1e-8)  # α_ac = ∂P_a/∂E_c
    assert_close(r.born_charges, d[:, 4:].reshape(3, n, 3).transpose(1, 0, 2), 1e-8)  # ∂F_iβ/∂E_α

    def at_positions(x):
        out = dielectric.field_response(model, g._replace(positions=x), FIELD)
        return np.concatenate([out.dipole, out.polarizability.ravel()])

    d = central_difference(at_positions, g.positions).reshape(n, 3, 12)  # [i, β, quantity]
    assert_close(r.dipole_derivatives, d[:, :, :3], 1e-8)
    assert_close(r.polarizability_derivatives, d[:, :, 3:].reshape(n, 3, 3, 3), 1e-8)


@pytest.mark.parametrize("structure", [formaldehyde, boron_nitride])
def test_equivariance_under_rotations_and_reflections(model, structure):
    """U is invariant, F and P are vectors, α and each Z*_i rank-2 tensors, dα/dx_i rank 3, under
    proper and improper rotations of the structure and the field together (E is polar: 1o)."""
    atoms = structure()
    r = dielectric.field_response(model, graph(model, atoms), FIELD)
    rotation = Rotation.random(random_state=4).as_matrix()
    mirror = np.diag([1.0, -1.0, 1.0])
    for q in (rotation, -rotation, mirror @ rotation):
        moved = atoms.copy()
        moved.set_cell(atoms.cell[:] @ q.T)
        moved.positions = atoms.positions @ q.T + [0.3, -0.2, 0.1]
        s = dielectric.field_response(model, graph(model, moved), q @ FIELD)
        assert abs(s.energy - r.energy) <= 1e-12 * max(1.0, abs(r.energy))
        assert_close(s.forces, r.forces @ q.T, 1e-10)
        assert_close(s.dipole, q @ r.dipole, 1e-10)
        assert_close(s.polarizability, q @ r.polarizability @ q.T, 1e-10)
        assert_close(s.born_charges, np.einsum("ab,ibc,dc->iad", q, r.born_charges, q), 1e-10)
        assert_close(s.polarizability_derivatives,
                     np.einsum("bB,aA,cC,iBAC->ibac", q, q, q, r.polarizability_derivatives), 1e-10)
    assert np.abs(r.born_charges).max() > 1e-3


@pytest.mark.parametrize("structure", [formaldehyde, boron_nitride])
def test_born_charges_sum_to_zero(model, structure):
    """Σ_i Z*_i = 0 by translation invariance; ``neutral=True`` subtracts the (rounding-level) mean."""
    g = graph(model, structure())
    z = dielectric.field_response(model, g, FIELD).born_charges
    assert np.abs(z.sum(axis=0)).max() < 1e-12 * np.abs(z).max() * len(z)
    neutral = dielectric.field_response(model, g, FIELD, neutral=True).born_charges
    np.testing.assert_allclose(neutral, z - z.mean(axis=0), atol=1e-15)
    assert np.abs(neutral.sum(axis=0)).max() < 1e-14


def test_field_order_zero_is_the_plain_model(field_class):
    """field_order 0 is NequIP / MACE (same weights for the same seed, no field response); any order
    at zero field gives the plain model's energy."""
    atoms = formaldehyde()
    plain_class, hyper = HYPERS[field_class.__name__]
    base = plain_class.init(SPECIES, seed=3, **hyper)
    g = graph(base, atoms)
    e_base = jax.jit(lambda m, g: m.energy(g))(base, g)
    plain = field_class.init(SPECIES, field_order=0, seed=3, **hyper)
    assert dielectric.field_response(plain, g, FIELD, order=1).energy == pytest.approx(float(e_base), abs=1e-12)
    for response in (dielectric.dipole, dielectric.polarizability, dielectric.born_charges):
        assert not np.any(response(plain, g, FIELD))
    for coupling in ("layers", "readout"):
        second = field_class.init(SPECIES, field_order=2, field_coupling=coupling, seed=3, **hyper)
        assert dielectric.field_response(second, g, None, order=0).energy == pytest.approx(float(e_base), abs=1e-12)


@pytest.mark.parametrize("order", [1, 2])
def test_readout_coupling_is_a_polynomial_of_the_field_order(field_class, order):
    """With the read-out coupling U(x, E) = U(x) − p·E − ½E·a·E truncated at ``order``: finite
    differences of U along sE, s = 0…3, of degree order + 1 vanish (to rounding), the one of degree
    ``order`` does not; α is 0 at order 1 and the same at every field at order 2. The layer coupling,
    for contrast, has a polarizability already at order 1."""
    hyper = HYPERS[field_class.__name__][1]
    readout = field_class.init(SPECIES, field_order=order, field_coupling="readout", seed=3, **hyper)
    g = graph(readout, formaldehyde())
    u = [float(dielectric.field_response(readout, g, s * 10 * FIELD, order=0).energy) for s in range(4)]
    differences = [u, np.diff(u), np.diff(u, 2), np.diff(u, 3)]
    assert np.abs(differences[order + 1]).max() < 1e-10 * max(abs(x) for x in u)
    assert np.abs(differences[order]).max() > 1e-4
    alpha = [dielectric.polarizability(readout, g, e) for e in (None, FIELD, -3 * FIELD)]
    if order == 1:
        assert not np.any(alpha[0]) and not np.any(alpha[1])
    else:
        assert np.abs(alpha[0]).max() > 1e-3
        for a in alpha[1:]:
            np.testing.assert_allclose(a, alpha[0], rtol=0, atol=1e-12 * np.abs(alpha[0]).max())
    layers = field_class.init(SPECIES, field_order=1, field_coupling="layers", seed=3, **hyper)
    assert np.abs(dielectric.polarizability(layers, g, FIELD)).max() > 1e-6


def test_save_and_load_round_trip(model, tmp_path):
    """The model file keeps field_order and the field weights; the plain (zero-field) interface works."""
    path = tmp_path / "field.npz"
    model.save(path)
    loaded = pf.models.load(path)
    assert type(loaded) is type(model) and loaded.config == model.config and loaded.field_order == 2
    assert loaded.config.field_coupling == model.config.field_coupling
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(np.array_equal, loaded.params, model.params))
    g = graph(model, formaldehyde())
    r0, r1 = (dielectric.field_response(m, g, FIELD, order=0) for m in (model, loaded))
    assert r0.energy == r1.energy and np.array_equal(r0.dipole, r1.dipole)
    assert np.array_equal(dielectric.dipole(loaded, g, FIELD), r1.dipole)
    atoms = formaldehyde()
    atoms.calc = pf.Calculator(loaded)  # zero field
    assert atoms.get_potential_energy() == pytest.approx(float(dielectric.field_response(model, g).energy), abs=1e-10)


def test_bad_field_and_field_order(model, field_class):
    g = graph(model, formaldehyde())
    for field in (np.zeros(2), np.zeros((1, 3)), np.zeros((3, 3))):
        with pytest.raises(ValueError, match=r"shape \(3,\)"):
            dielectric.field_response(model, g, field)
        with pytest.raises(ValueError, match=r"shape \(3,\)"):
            model.energy(g, field)
    for order in (3, -1):
        with pytest.raises(ValueError, match="field_order must be one of"):
            field_class.init(SPECIES, field_order=order, **HYPERS[field_class.__name__][1])
    with pytest.raises(ValueError, match="field_coupling must be one of"):
        field_class.init(SPECIES, field_coupling="gates", **HYPERS[field_class.__name__][1])
