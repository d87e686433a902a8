"""Exact force constants against independent references (DESIGN.md §2).

References: ``jax.hessian`` of a periodic supercell's energy (exact at commensurate q), the two
cluster constructions against each other, and symmetry-required degeneracies.
"""

import numpy as np
import pytest

import phonax_fast as pf
from hessian_reference import supercell_dynamical_matrix
from structures import quaternary, random_nequip, silicon


@pytest.fixture(scope="module")
def si_model():
    return random_nequip(["Si"], cutoff=4.5, num_layers=3, lmax=2, channels=8)


@pytest.fixture(scope="module")
def si_phonons(si_model):
    ph = pf.Phonons(silicon(), si_model, construction="masked")
    ph.fcs
    return ph


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
    assert (used_m.construction, used_p.construction) == ("masked", "paper")
    # compare as dictionaries {(translation, i, j): block}
    def as_dict(fcs):
        n = fcs.n_atoms
        blocks = fcs.fc.reshape(n, len(fcs.translations), n, 3, 3)
        return {(tuple(t), i, j): blocks[i, l, j] for l, t in enumerate(fcs.translations.tolist()) for i in range(n) for j in range(n)}

    a, b = as_dict(masked), as_dict(paper)
    scale = np.abs(masked.fc).max()
    for key in set(a) | set(b):
        np.testing.assert_allclose(a.get(key, np.zeros((3, 3))), b.get(key, np.zeros((3, 3))), atol=1e-10 * max(scale, 1.0))


def test_auto_picks_exact_when_cheap_and_supercell_for_deep_models(si_model):
    from phonax_fast.forceconstants import plan_construction

    plan = plan_construction(silicon(), si_model)
    assert plan.construction in ("masked", "paper") and "exact" in plan.reason
    assert set(plan.estimates) == {"supercell", "masked", "paper"}
    # a model of nequix's reach (4 layers of 6 Å): the masked cluster would hold ~10^4 atoms
    deep = random_nequip(["Si"], cutoff=6.0, num_layers=4, lmax=2, channels=16)
    plan = plan_construction(silicon(), deep)
    assert plan.construction == "supercell" and "reach" in plan.reason
    assert plan.estimates["masked"].nodes > 10_000 and plan.estimates["supercell"].products == 1  # Td site: one direction
    # the automatic supercell is at least 15 Å wide: 3×3×3 conventional cells (216 atoms) for silicon
    assert round(abs(np.linalg.det(plan.supercell))) * 2 == 216
    with pytest.raises(ValueError, match="GiB"):
        plan_construction(silicon(), deep, "masked")  # ~10^6 edges: far more than this machine has
    with pytest.raises(ValueError, match="no construction fits"):
        plan_construction(silicon(), deep, memory_limit=1e3)


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


@pytest.mark.parametrize("construction", ["masked", pytest.param("paper", marks=pytest.mark.slow)])
@pytest.mark.parametrize("model_class", ["NequIP", "MACE", *(pytest.param(m, marks=pytest.mark.slow) for m in ("Nequix", "SevenNet"))])
def test_pruned_cluster_gives_the_same_rows(construction, model_class):
    """Layer t of a pruned cluster sees only the edges into nodes it still needs
    (``Graph.layer_edges``): same energy and Hessian rows as the whole cluster in every layer."""
    from phonax_fast.derivatives import energy, hessian_rows
    from phonax_fast.graphs import build_cluster

    hyper = {"NequIP": dict(lmax=1, channels=4), "MACE": dict(lmax=1, channels=4),
             "Nequix": dict(lmax=1, hidden_irreps="4x0e + 4x1o"), "SevenNet": dict(lmax=1, channels=4, hidden_irreps="4x0e + 4x1e", envelope_on=2.5)}
    model = pf.models.MODEL_CLASSES[model_class].init(["Si"], cutoff=3.0, num_layers=2, seed=4, **hyper[model_class])
    atoms = silicon()
    atoms.rattle(0.02, seed=5)
    L = model.num_layers
    hops, energy_hops = (2 * L, L) if construction == "masked" else (L, 0)
    cluster = build_cluster(atoms, model.cutoff, hops, model.species, energy_hops=energy_hops)
    pruned, whole = cluster.graph, cluster.graph._replace(layer_edges=None)
    assert pruned.layer_edges[0] < pruned.num_edges and list(pruned.layer_edges) == sorted(pruned.layer_edges, reverse=True)
    assert abs(float(energy(model, model.params, pruned)) - float(energy(model, model.params, whole))) <= 1e-10
    coords = np.arange(6) if construction == "masked" else np.array([0, 4, 3 * cluster.num_nodes - 1])
    a, b = hessian_rows(model, pruned, coords), hessian_rows(model, whole, coords)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-10 * np.abs(b).max())
