"""Exact force constants against independent references (DESIGN.md §2).

References: ``jax.hessian`` of a periodic supercell's energy (exact at commensurate q), the two
cluster constructions against each other, and symmetry-required degeneracies.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import make_supercell

import phonax_fast as pf
from phonax_fast.graphs import periodic_graph
from structures import quaternary, random_nequip, silicon


@pytest.fixture(scope="module")
def si_model():
    return random_nequip(["Si"], cutoff=4.5, num_layers=3, lmax=2, channels=8)


@pytest.fixture(scope="module")
def si_phonons(si_model):
    ph = pf.Phonons(silicon(), si_model, construction="masked")
    ph.fcs
    return ph


def supercell_dynamical_matrix(model, atoms, dims, q):
    """D(q) by folding jax.hessian of the energy of a periodic ``dims`` supercell (exact at commensurate q)."""
    sc = make_supercell(atoms, np.diag(dims))
    graph = periodic_graph(sc, model.cutoff, model.species)
    graph = jax.tree_util.tree_map(jnp.asarray, graph)
    h = jax.hessian(lambda x: model.energy(graph._replace(positions=x)))(graph.positions)
    h = np.asarray(h).reshape(3 * len(sc), 3 * len(sc))
    n = len(atoms)
    # supercell atom k is image of unit-cell atom k // prod(dims) in ASE's make_supercell ordering? map explicitly
    frac = np.linalg.solve(atoms.cell.T, sc.positions.T).T  # in unit-cell reduced coordinates
    unit = atoms.get_scaled_positions(wrap=False)
    atom_of = np.array([np.argmin(np.linalg.norm(((f - unit) + 0.5) % 1 - 0.5, axis=1)) for f in frac])
    origin = [np.where(atom_of == i)[0][0] for i in range(n)]
    m = atoms.get_masses()
    d = np.zeros((3 * n, 3 * n), complex)
    for i in range(n):
        a = origin[i]
        for b in range(len(sc)):
            j = atom_of[b]
            phase = np.exp(2j * np.pi * np.dot(q, frac[b] - frac[a]))
            d[3 * i : 3 * i + 3, 3 * j : 3 * j + 3] += h[3 * a : 3 * a + 3, 3 * b : 3 * b + 3] * phase / np.sqrt(m[i] * m[j])
    return d


@pytest.mark.slow
def test_si_matches_supercell_hessian_at_commensurate_q(si_model, si_phonons):
    dims = (3, 3, 3)
    for q in [(0, 0, 0), (1 / 3, 0, 0), (1 / 3, 1 / 3, 0), (2 / 3, 1 / 3, 0), (1 / 3, 1 / 3, 1 / 3)]:
        ref = np.linalg.eigvalsh(supercell_dynamical_matrix(si_model, silicon(), dims, np.array(q)))
        ours = np.linalg.eigvalsh(si_phonons.fcs.dynamical_matrices([q])[0])
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())


@pytest.mark.slow
def test_quaternary_matches_supercell_hessian_at_commensurate_q():
    atoms = quaternary()
    model = random_nequip(["Na", "K", "Cl", "Br"], cutoff=3.2, num_layers=2, lmax=2, channels=8, seed=3)
    ph = pf.Phonons(atoms, model)
    for q in [(0, 0, 0), (0.5, 0, 0), (0.5, 0.5, 0.5), (0, 0.5, 0.5)]:
        ref = np.linalg.eigvalsh(supercell_dynamical_matrix(model, atoms, (2, 2, 2), np.array(q)))
        ours = np.linalg.eigvalsh(ph.fcs.dynamical_matrices([q])[0])
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())


def test_constructions_agree():
    model = random_nequip(["Si"], cutoff=4.0, num_layers=2, lmax=2, channels=8, seed=1)
    masked, used_m = pf.forceconstants.crystal_force_constants(silicon(), model, "masked")
    paper, used_p = pf.forceconstants.crystal_force_constants(silicon(), model, "paper")
    assert (used_m, used_p) == ("masked", "paper")
    # compare as dictionaries {(translation, i, j): block}
    def as_dict(fcs):
        n = fcs.n_atoms
        blocks = fcs.fc.reshape(n, len(fcs.translations), n, 3, 3)
        return {(tuple(t), i, j): blocks[i, l, j] for l, t in enumerate(fcs.translations.tolist()) for i in range(n) for j in range(n)}

    a, b = as_dict(masked), as_dict(paper)
    scale = np.abs(masked.fc).max()
    for key in set(a) | set(b):
        np.testing.assert_allclose(a.get(key, np.zeros((3, 3))), b.get(key, np.zeros((3, 3))), atol=1e-10 * max(scale, 1.0))


def test_auto_picks_cheaper_construction(si_model):
    from phonax_fast.forceconstants.crystal import construction_cost
    from phonax_fast.graphs import build_cluster

    L = si_model.num_layers
    masked = build_cluster(silicon(), si_model.cutoff, 2 * L, si_model.species, energy_hops=L)
    paper = build_cluster(silicon(), si_model.cutoff, L, si_model.species, energy_hops=0)
    expected = "masked" if construction_cost(masked, "masked") <= construction_cost(paper, "paper") else "paper"
    assert pf.forceconstants.choose_construction(masked, paper) == expected == "masked"


def test_acoustic_sum_rule(si_phonons):
    residual = si_phonons.acoustic_sum_residual()
    print(f"acoustic-sum-rule residual: {residual:.3e} eV/Å²")
    assert residual <= 1e-8
    gamma = si_phonons.frequencies([[0, 0, 0]])[0]
    assert np.sort(np.abs(gamma))[:3].max() < 1e-4  # three acoustic zeros (random weights may give imaginary optical modes)


def test_symmetry_degeneracies(si_phonons):
    gamma, x = si_phonons.frequencies([[0, 0, 0], [0.5, 0, 0.5]])
    optical = gamma[np.argsort(np.abs(gamma))[3:]]
    assert np.ptp(optical) <= 1e-6, optical  # triply degenerate Γ optical mode
    assert np.all(np.abs(x[0::2] - x[1::2]) <= 1e-6), x  # doubly degenerate pairs at X
    assert np.min(np.diff(x[1::2])) > 1e-3, x  # three distinct pairs


def test_rotated_cell_gives_same_bands(si_model, si_phonons):
    rotated = silicon()
    rotated.rotate(37, "x", rotate_cell=True)
    rotated.rotate(21, "z", rotate_cell=True)
    ph_rot = pf.Phonons(rotated, si_model)
    a = si_phonons.band_structure(npoints=30)
    b = ph_rot.band_structure(npoints=30)
    # seekpath may pick other but symmetry-equivalent points for the rotated cell: same bands
    assert [lab for _, lab in a.labels] == [lab for _, lab in b.labels]
    np.testing.assert_allclose(a.distances, b.distances, atol=1e-10)
    np.testing.assert_allclose(a.frequencies, b.frequencies, atol=1e-6)


@pytest.mark.parametrize("name", ["silicon", "rocksalt", "wurtzite"])
def test_symmetry_expansion_equals_direct_rows(name):
    from ase.build import bulk

    atoms = {"silicon": silicon(), "rocksalt": bulk("NaCl", "rocksalt", a=5.6), "wurtzite": bulk("ZnO", "wurtzite", a=3.25, c=5.2)}[name]
    model = random_nequip(sorted(set(atoms.get_chemical_symbols())), cutoff=3.6, num_layers=1, lmax=2, channels=4, seed=2)
    direct, _ = pf.forceconstants.crystal_force_constants(atoms, model, "masked", use_symmetry=False)
    rotated, _ = pf.forceconstants.crystal_force_constants(atoms, model, "masked", use_symmetry=True)
    q = np.random.default_rng(0).random((6, 3))
    np.testing.assert_allclose(rotated.dynamical_matrices(q), direct.dynamical_matrices(q), atol=1e-10)
