"""The supercell construction against independent references: ``jax.hessian`` of the periodic
supercell's energy (exact at q-points commensurate with the supercell), phonopy's finite
displacements through the ASE calculator on the same supercell (phonopy's own dynamical matrix and
shortest images), and the full set of rows against the symmetry-reduced one.

Models are random NequIPs of a deep model's reach (4 layers of 5 Å), narrow so the tests stay quick.
"""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.spacegroup import crystal

import phonax_fast as pf
from hessian_reference import supercell_dynamical_matrix
from phonax_fast.forceconstants import supercell_force_constants
from phonax_fast.graphs.supercell import cell_heights, make_supercell, supercell_for_length
from phonax_fast.interop.finite_displacements import phonopy_finite_displacements
from structures import random_nequip, silicon


def deep_model(species, seed=0):
    return random_nequip(species, cutoff=5.0, num_layers=4, lmax=2, channels=4, seed=seed)


def monoclinic() -> Atoms:
    """A 12-atom P2_1/c crystal (three general 4e positions): low symmetry, inversion centres only."""
    atoms = crystal(["Si", "O", "C"], basis=[(0.11, 0.23, 0.31), (0.37, 0.08, 0.17), (0.29, 0.41, 0.07)],
                    spacegroup=14, cellpar=[5.6, 6.1, 7.2, 90, 104, 90])
    assert len(atoms) == 12
    return atoms


def rattled_si8() -> Atoms:
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=4)
    return atoms


@pytest.fixture(scope="module")
def deep_si_model():
    return deep_model(["Si"])


@pytest.mark.parametrize("use_symmetry", [True, False])
def test_equals_jax_hessian_of_the_supercell(use_symmetry, deep_si_model):
    model = deep_si_model  # one object: the jax.hessian reference is computed once for both
    fcs, report = supercell_force_constants(silicon(), model, (2, 2, 2), use_symmetry=use_symmetry)
    assert report.rows == (1 if use_symmetry else 6)
    for q in [(0, 0, 0), (1 / 2, 0, 0), (1 / 2, 1 / 2, 0), (0, 1 / 2, 1 / 2), (1 / 2, 1 / 2, 1 / 2)]:
        ref = supercell_dynamical_matrix(model, silicon(), (2, 2, 2), np.array(q))
        ours = fcs.dynamical_matrices([q])[0]
        assert np.abs(ours - ref).max() <= 1e-8 * np.abs(ref).max()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["monoclinic", "rattled"])
def test_low_symmetry_equals_jax_hessian_of_the_supercell(name):
    atoms, dims = (monoclinic(), (2, 1, 1)) if name == "monoclinic" else (rattled_si8(), (1, 1, 2))
    model = deep_model(sorted(set(atoms.get_chemical_symbols())), seed=2)
    fcs, report = supercell_force_constants(atoms, model, dims)
    assert report.rows < 3 * len(atoms) if name == "monoclinic" else report.rows == 3 * len(atoms)
    for q in (np.zeros(3), 0.5 * (np.array(dims) == 2)):  # the q-points commensurate with the supercell
        ref = supercell_dynamical_matrix(model, atoms, dims, q)
        assert np.abs(fcs.dynamical_matrices([q])[0] - ref).max() <= 1e-8 * np.abs(ref).max()


@pytest.mark.parametrize("matrix", [[[-2, 2, 2], [2, -2, 2], [2, 2, -2]], [[2, 1, 0], [0, 3, 1], [1, 0, 2]], (4, 4, 4)])
def test_exact_at_commensurate_q(matrix):
    """At q-points commensurate with the supercell, folding loses nothing: the supercell force
    constants give the exact dynamical matrix, the masked cluster's (no supercell at all)."""
    model = random_nequip(["Si"], cutoff=3.0, num_layers=1, lmax=1, channels=4)
    exact, _ = pf.forceconstants.crystal_force_constants(silicon(), model, "masked")
    ours, _ = supercell_force_constants(silicon(), model, matrix)
    m = np.diag(matrix) if np.ndim(matrix) == 1 else np.asarray(matrix)
    q = np.random.default_rng(1).integers(-3, 4, size=(8, 3)) @ np.linalg.inv(m).T  # q · (supercell vectors) integer
    reference = exact.dynamical_matrices(q)
    assert np.abs(ours.dynamical_matrices(q) - reference).max() <= 1e-10 * np.abs(reference).max()


@pytest.mark.parametrize("name,matrix", [("wurtzite", (2, 2, 2)), ("monoclinic", (1, 1, 1)), ("rocksalt-fcc", [[-1, 1, 1], [1, -1, 1], [1, 1, -1]])])
def test_symmetry_reduced_rows_equal_all_rows(name, matrix):
    atoms = {"wurtzite": bulk("ZnO", "wurtzite", a=3.25, c=5.2), "monoclinic": monoclinic(),
             "rocksalt-fcc": bulk("NaCl", "rocksalt", a=5.6)}[name]
    model = random_nequip(sorted(set(atoms.get_chemical_symbols())), cutoff=3.6, num_layers=2, lmax=2, channels=4, seed=2)
    reduced, report = supercell_force_constants(atoms, model, matrix, use_symmetry=True)
    full, full_report = supercell_force_constants(atoms, model, matrix, use_symmetry=False)
    assert report.rows < full_report.rows == 3 * len(atoms)
    np.testing.assert_array_equal(reduced.translations, full.translations)
    np.testing.assert_allclose(reduced.fc, full.fc, rtol=0, atol=1e-10 * np.abs(full.fc).max())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["silicon", "monoclinic", "rattled"])
def test_equals_phonopy_finite_displacements(name):
    atoms, dims = {"silicon": (silicon(), (3, 3, 3)), "monoclinic": (monoclinic(), (1, 1, 1)),
                   "rattled": (rattled_si8(), (1, 1, 1))}[name]
    model = deep_model(sorted(set(atoms.get_chemical_symbols())), seed=1)
    ours, _ = supercell_force_constants(atoms, model, dims)
    phonon = phonopy_finite_displacements(atoms, pf.Calculator(model), dims, distance=0.003)
    q = np.random.default_rng(0).uniform(-0.5, 0.5, size=(6, 3))
    # phonopy's own dynamical matrix and shortest images; central differences of 0.003 Å leave
    # O(1e-4) THz (measured: 3e-4 THz for silicon)
    phonon.run_qpoints(q)
    reference = phonon.qpoints.frequencies
    np.testing.assert_allclose(ours.frequencies(q), reference, atol=1e-3)


def test_supercell_geometry():
    si = silicon()
    sc = make_supercell(si, [[-1, 1, 1], [1, -1, 1], [1, 1, -1]])  # the conventional cube
    assert len(sc.atoms) == 8 and sc.n_cells == 4
    np.testing.assert_allclose(sc.atoms.cell.lengths(), [5.43] * 3, atol=1e-12)
    np.testing.assert_array_equal(sc.atom[:2], [0, 1])
    np.testing.assert_array_equal(sc.lattice_point[:2], 0)
    # every lattice translation finds its supercell atom, modulo the supercell lattice
    shift = np.array([[-1, 1, 1]]) * 3 + np.array([[1, -1, 1]]) * -2
    np.testing.assert_array_equal(sc.index(sc.atom, sc.lattice_point + shift), np.arange(8))
    for matrix in ([[-2, 2, 2], [2, -2, 2], [2, 2, -2]], [[2, 1, 0], [0, 3, 1], [1, 0, 2]]):
        sc = make_supercell(si, matrix)  # the unit cell's atoms come first, at the origin cell
        np.testing.assert_array_equal(sc.lattice_point[:2], 0)
        np.testing.assert_allclose(sc.atoms.positions[:2], si.positions, atol=1e-12)
        assert len(np.unique(sc.index(sc.atom, sc.lattice_point))) == len(sc.atoms)
    # the automatic supercell: at least 15 Å wide, conventional multiples win for fcc
    matrix = supercell_for_length(si, 15.0, [[-1, 1, 1], [1, -1, 1], [1, 1, -1]])
    assert round(np.linalg.det(matrix)) == 108 and cell_heights(matrix @ si.cell[:]).min() >= 15.0
    with pytest.raises(ValueError, match="determinant"):
        make_supercell(si, [[1, 0, 0], [0, 1, 0], [0, 0, -1]])
    with pytest.raises(ValueError, match="3 positive integers or a 3×3 integer matrix"):
        make_supercell(si, [2, 2])


def test_report_and_phonons_facade():
    model = deep_model(["Si"])
    ph = pf.Phonons(silicon(), model, construction="supercell", supercell=(2, 2, 2))
    fcs = ph.fcs
    report = ph.report
    assert ph.construction == report.construction == "supercell" and report.reason == "asked for"
    assert report.supercell.n_atoms == 16 and report.supercell.rows == 1
    assert report.timing.compile_seconds > 0 and report.timing.execute_seconds > 0
    assert 0 < report.supercell.boundary_fc <= report.supercell.largest_fc
    assert "supercell 2×2×2 (16 atoms, 6.3 Å wide), 1 Hessian rows" in report.summary()
    assert ph.acoustic_sum_residual() <= 1e-10 * np.abs(fcs.fc).max()
