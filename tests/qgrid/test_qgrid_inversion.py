"""Real symmetric form of D(q) for crystals with an inversion centre (``qgrid.inversion``): the same
eigenvalues and eigenvectors as the Hermitian D(q) (``ForceConstants``, LAPACK), the same DOS
through the q-grid engine, and the Hermitian path whenever the inversion is absent or broken."""

import dataclasses

import numpy as np
import phonopy
import pytest
from ase.calculators.lj import LennardJones
from phonopy.structure.atoms import PhonopyAtoms

from phonax_fast.interop.phonopy_import import force_constants_from_phonopy
from phonax_fast.harmonic.force_constants import bloch_sum
from phonax_fast.qgrid import MeshSolver, mesh_projected_dos
from phonax_fast.qgrid.inversion import InversionForm, inversion_pairs
from reference_data import load_tio2


@pytest.fixture(scope="module")
def fluorite():
    """CaF2 (Fm-3m) with a Lennard-Jones potential through phonopy's finite displacements: the
    inversion centre at Ca fixes Ca and pairs the two F, so both blocks of the real form occur."""
    from ase import Atoms

    a = 5.46
    cell = a / 2 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    unit = PhonopyAtoms(symbols=["Ca", "F", "F"], cell=cell, scaled_positions=[[0, 0, 0], [0.25] * 3, [0.75] * 3])
    ph = phonopy.Phonopy(unit, supercell_matrix=2 * np.eye(3, dtype=int), log_level=0)
    ph.generate_displacements(distance=0.01)
    calc = LennardJones(sigma=2.2, epsilon=0.1, rc=6.0, smooth=True)
    forces = []
    for s in ph.supercells_with_displacements:
        atoms = Atoms(s.symbols, cell=s.cell, scaled_positions=s.scaled_positions, pbc=True)
        atoms.calc = calc
        forces.append(atoms.get_forces())
    ph.forces = forces
    ph.produce_force_constants()
    return force_constants_from_phonopy(ph)


@pytest.fixture(scope="module", params=["si", "nacl", "tio2", "fluorite"])
def crystal(request, phonopy_si, phonopy_nacl, fluorite):
    if request.param == "fluorite":
        return fluorite
    return force_constants_from_phonopy({"si": phonopy_si, "nacl": phonopy_nacl, "tio2": load_tio2()}[request.param])


def test_real_form_has_the_spectrum_of_d(crystal):
    form = InversionForm.build(crystal)
    assert form is not None
    q = np.random.default_rng(0).uniform(-1, 1, size=(9, 3))
    upper = form.matrices(np, q)
    assert upper.dtype == np.float64
    scale = np.abs(upper).max()
    # tolerances: float64 eigen-solves of these small matrices agree to ~1e-15 relative; the force
    # constants (phonopy's symmetrisation of finite-difference forces) carry the inversion to ~1e-13
    blocks = np.cumsum([0, form.n_fixed, form.n_pairs, form.n_pairs])
    for lo, hi in zip(blocks[:-1], blocks[1:]):
        diagonal = upper[:, lo:hi, lo:hi]
        np.testing.assert_allclose(diagonal, diagonal.transpose(0, 2, 1), rtol=0, atol=1e-14 * scale)
        assert np.all(upper[:, hi:, lo:hi] == 0)  # below the diagonal blocks: unused
    m = np.triu(upper) + np.triu(upper, 1).transpose(0, 2, 1)
    np.testing.assert_allclose(np.linalg.eigvalsh(m), np.linalg.eigvalsh(crystal.dynamical_matrices(q)), rtol=0,
                               atol=1e-12 * scale)
    values, vectors = form.eigh(np, q, with_vectors=True)  # eigenvectors of bloch_sum's D'(q)
    np.testing.assert_allclose(values, np.linalg.eigvalsh(m), rtol=0, atol=1e-12 * scale)
    d = bloch_sum(np, q, crystal.mass_weighted(), np.asarray(crystal.translations, float))
    np.testing.assert_allclose(d @ vectors, vectors * values[:, None, :], rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(vectors.conj().transpose(0, 2, 1) @ vectors, np.broadcast_to(np.eye(len(m[0])), m.shape),
                               rtol=0, atol=1e-12)


def test_fluorite_pairs_f_and_fixes_ca(fluorite):
    pairing = inversion_pairs(fluorite.cell, fluorite.scaled_positions, fluorite.numbers)
    np.testing.assert_array_equal(pairing, [0, 2, 1])


def test_no_inversion_no_real_form(fluorite):
    zincblende = fluorite.cell, fluorite.scaled_positions[:2], fluorite.numbers[:2]  # CaF2 without one F
    assert inversion_pairs(*zincblende) is None


def test_broken_inversion_falls_back_to_the_hermitian_path(phonopy_si):
    """Force constants that do not carry the crystal's inversion are not symmetrised silently."""
    fcs = force_constants_from_phonopy(phonopy_si)
    noisy = dataclasses.replace(fcs, fc=fcs.fc + 1e-4 * np.random.default_rng(1).normal(size=fcs.fc.shape))
    solver = MeshSolver(noisy, progress=None)
    assert solver.form is None and MeshSolver(fcs, progress=None).form is not None
    q = np.random.default_rng(2).uniform(-1, 1, size=(6, 3))
    hermitian = MeshSolver(noisy, progress=None, real_form=False)
    np.testing.assert_array_equal(solver.frequencies(q), hermitian.frequencies(q))


@pytest.mark.parametrize("eigensolver", ["host", "jax"])
def test_mesh_results_do_not_depend_on_the_form(crystal, eigensolver):
    """Frequencies and the projected DOS (eigenvectors) with and without the real form, on both
    eigensolvers (the JAX path builds the real form with jax.numpy).

    The two forms pick different bases inside degenerate subspaces; the tetrahedron PDOS of
    anatase differed by 7% of its peak before modes of a degenerate set shared their projections.
    """
    q = np.random.default_rng(3).uniform(-1, 1, size=(11, 3))
    real = MeshSolver(crystal, eigensolver=eigensolver, progress=None, chunk_size=4)
    assert real.form is not None
    hermitian = MeshSolver(crystal, eigensolver=eigensolver, progress=None, real_form=False)
    np.testing.assert_allclose(real.frequencies(q), hermitian.frequencies(q), rtol=0, atol=1e-9)
    # a shifted mesh: at Γ the acoustic frequencies are √(round-off) ~ 1e-7 THz on either path
    for method in ("gaussian", "tetrahedron"):
        options = dict(method=method, sigma=0.2, eigensolver=eigensolver, progress=None, shift=(1, 1, 1))
        f, pdos = mesh_projected_dos(crystal, 4, projection="xyz", **options)
        _, pdos_hermitian = mesh_projected_dos(crystal, 4, projection="xyz", real_form=False, **options)
        np.testing.assert_allclose(pdos, pdos_hermitian, rtol=0, atol=1e-10 * pdos.max(), err_msg=method)


def test_mass_weighted_rows_and_columns(fluorite):
    """Φ(i0, j T_l)/√(m_i m_j) element by element from ``fc``; a subset of rows and reordered
    columns is the same numbers, picked."""
    n, n_l = fluorite.n_atoms, len(fluorite.translations)
    full = fluorite.mass_weighted().reshape(n_l, 3 * n, 3 * n)
    for t, i, j, a, b in [(0, 0, 0, 0, 0), (n_l - 1, 2, 1, 1, 2), (n_l // 2, 1, 0, 2, 0)]:
        expected = fluorite.fc[i, t * n + j, a, b] / np.sqrt(fluorite.masses[i] * fluorite.masses[j])
        assert full[t, 3 * i + a, 3 * j + b] == pytest.approx(expected, rel=1e-15)
    rows, columns = [2, 0], [1, 2, 0]
    picked = fluorite.mass_weighted(rows=rows, columns=columns).reshape(n_l, 6, 9)
    r = (3 * np.array(rows)[:, None] + np.arange(3)).ravel()
    c = (3 * np.array(columns)[:, None] + np.arange(3)).ravel()
    np.testing.assert_array_equal(picked, full[:, r][:, :, c])


def test_jax_real_form_compiles_once_per_crystal(fluorite, caplog):
    """A new solver of the same crystal reuses the compiled real-form solve (the form is a pytree
    argument, not a closure), so meshes after the first cost no compilation."""
    import jax

    q = np.random.default_rng(4).uniform(-1, 1, size=(5, 3))
    first = MeshSolver(fluorite, eigensolver="jax", progress=None, chunk_size=8).frequencies(q)
    with jax.log_compiles(True), caplog.at_level("WARNING"):
        again = MeshSolver(fluorite, eigensolver="jax", progress=None, chunk_size=8).frequencies(q)
    assert not [r.getMessage() for r in caplog.records if "Compiling" in r.getMessage()]
    np.testing.assert_array_equal(first, again)


def test_non_hermitian_force_constants_take_the_hermitian_path(fluorite):
    """Force constants whose D(q) is not Hermitian, while its Hermitian part keeps the inversion:
    no real form (it reads half of D), and every path gives the eigenvalues of (D + D†)/2."""
    n, n_l = fluorite.n_atoms, len(fluorite.translations)
    index = {tuple(t): k for k, t in enumerate(fluorite.translations)}
    minus = np.array([index[tuple(-t)] for t in fluorite.translations])  # -T_l is listed too
    pairing = inversion_pairs(fluorite.cell, fluorite.scaled_positions, fluorite.numbers)
    k = np.random.default_rng(5).normal(size=(n, n_l, n, 3, 3))
    k -= k.transpose(2, 1, 0, 4, 3)[:, minus]  # Φ(i0, jL) → Φ(j0, i(−L))ᵀ: antisymmetric part only
    assert np.abs(k - k[pairing][:, minus][:, :, pairing]).max() > 0.1  # and breaks the inversion
    noisy = dataclasses.replace(fluorite, fc=fluorite.fc + 1e-3 * k.reshape(fluorite.fc.shape))
    q = np.random.default_rng(6).uniform(-1, 1, size=(6, 3))
    d = noisy.dynamical_matrices(q, hermitise=False)
    assert np.abs(d - d.conj().transpose(0, 2, 1)).max() > 1e-5 * np.abs(d).max()
    assert InversionForm.build(noisy) is None
    expected = noisy.frequencies(q)
    for eigensolver in ("host", "jax"):
        got = MeshSolver(noisy, eigensolver=eigensolver, progress=None).frequencies(q)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
