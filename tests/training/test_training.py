"""Training: data readers, padded batches, losses (incl. Hessian projections and spectra), the optax loop.

Labels are made here by a random "teacher" NequIP; its Hessians come from ``jax.hessian`` of the
energy (not from the code under test).
"""

import jax
import jax.numpy as jnp
import numpy as np
import phonax_fast as pf
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from phonax_fast.derivatives import energy_forces_virial
from phonax_fast.graphs import periodic_graph
from phonax_fast.training.batching import Batcher
from phonax_fast.training.data import Sample, read_extxyz, read_phonopy
from phonax_fast.training.losses import bloch_projector, loss_terms, predict_jit, spectrum_loss
from phonax_fast.training.trainer import OptimConfig, train

CUTOFF = 3.0
SPECIES = ("Si", "C")


def tiny_model(seed, kind="NequIP"):
    hyper = {"cutoff": CUTOFF, "num_layers": 1, "lmax": 1, "channels": 4, "radial_hidden": (8,), "avg_num_neighbors": 4.0, "seed": seed}
    if kind == "MACE":
        hyper.update(correlation=2)
    return pf.models.MODEL_CLASSES[kind].init(SPECIES, **hyper)


@jax.jit
def _hessian(model, graph):
    return jax.hessian(lambda x: model.energy(graph._replace(positions=x)))(graph.positions)


def exact_hessian(model, atoms):
    """(n, 3, n, 3) by jax.hessian of the energy of the periodic graph (independent of the batched code)."""
    return np.asarray(_hessian(model, jax.tree_util.tree_map(jnp.asarray, periodic_graph(atoms, model.cutoff, model.species))))


def labelled(model, atoms, hessian=False) -> Sample:
    graph = jax.tree_util.tree_map(jnp.asarray, periodic_graph(atoms, model.cutoff, model.species))
    e, f, virial = energy_forces_virial(model, graph)
    return Sample(atoms, float(e), np.asarray(f), np.asarray(virial) / atoms.get_volume(),
                  exact_hessian(model, atoms) if hessian else None)


def rattled(seed, symbols="Si"):
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.set_chemical_symbols(["Si", symbols[-1]] if symbols != "Si" else ["Si", "Si"])
    atoms.positions += np.random.default_rng(seed).normal(scale=0.05, size=(2, 3))
    return atoms


@pytest.fixture(scope="module")
def teacher():
    return tiny_model(seed=1)


@pytest.fixture(scope="module")
def samples(teacher):
    return [labelled(teacher, rattled(k, "Si" if k % 2 else "SiC"), hessian=k < 2) for k in range(3)]


def test_sample_rejects_bad_labels():
    atoms = rattled(0)
    with pytest.raises(ValueError, match="forces of shape"):
        Sample(atoms, forces=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        Sample(atoms, forces=np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="periodic"):
        Sample(atoms.copy().__class__("Si2", positions=atoms.positions), stress=np.zeros((3, 3)))


def test_read_extxyz_keeps_labels(tmp_path):
    atoms = rattled(0)
    rng = np.random.default_rng(0)
    forces, stress = rng.normal(size=(2, 3)), rng.normal(size=6)
    atoms.calc = SinglePointCalculator(atoms, energy=-1.5, forces=forces, stress=stress)
    write(tmp_path / "d.xyz", [atoms, atoms], format="extxyz")
    read = read_extxyz(tmp_path / "d.xyz")
    assert len(read) == 2 and read[0].energy == pytest.approx(-1.5)
    np.testing.assert_allclose(read[0].forces, forces)
    np.testing.assert_allclose(read[0].stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]], stress)


def test_read_phonopy_dft_forces_and_force_constants():
    import phonopy
    import reference_data

    path = reference_data.si_params()
    displaced, perfect = read_phonopy(path, hessian=True)
    reference = phonopy.load(path, produce_fc=True, is_compact_fc=False, log_level=0)
    np.testing.assert_allclose(displaced.forces, reference.forces[0])
    moved = np.linalg.norm(displaced.atoms.positions - perfect.atoms.positions, axis=1)
    assert np.count_nonzero(moved > 1e-8) == 1 and moved.max() == pytest.approx(0.01, abs=1e-6)
    fc = reference.force_constants  # (16, 16, 3, 3), Φ[i, j, α, β]
    np.testing.assert_allclose(perfect.hessian, perfect.hessian.transpose(2, 3, 0, 1))
    np.testing.assert_allclose(perfect.hessian.transpose(0, 2, 1, 3), 0.5 * (fc + fc.transpose(1, 0, 3, 2)), atol=1e-12)


def test_batches_match_single_structure_predictions(teacher, samples):
    batcher = Batcher(samples, SPECIES, CUTOFF, batch_size=2, seed=3, hessian_projections=0)
    shapes = {jax.tree_util.tree_map(np.shape, b) for b in batcher.epoch(0)} | {jax.tree_util.tree_map(np.shape, b) for b in batcher.epoch(1)}
    assert len(shapes) == 1, "all batches must share one padded shape (one compilation)"
    seen = []
    for batch in batcher.epoch(0):
        pred = predict_jit(teacher, teacher.params, batch)
        terms = loss_terms(pred, batch)
        for name in ("energy", "forces", "stress", "hessian"):  # the teacher reproduces its own labels
            assert float(terms[name]) < 1e-18, name
        seen.append(int(np.asarray(batch.energy_mask).sum()))
    assert sum(seen) == len(samples)


def test_shuffle_is_deterministic(samples):
    def order(seed, epoch):
        b = Batcher(samples, SPECIES, CUTOFF, batch_size=1, seed=seed)
        return [float(batch.energy[0]) for batch in b.epoch(epoch)]

    assert order(0, 0) == order(0, 0)
    assert sorted(order(0, 0)) == sorted(order(0, 1))
    assert any(order(0, e) != order(0, 0) for e in range(1, 6))


def test_hessian_projection_loss_estimates_full_loss(teacher, samples):
    student = tiny_model(seed=0)
    full = Batcher(samples[:2], SPECIES, CUTOFF, batch_size=2, hessian_projections=0)
    batch = next(full.epoch(0))
    exact = float(loss_terms(predict_jit(student, student.params, batch), batch)["hessian"])
    # independent value: mean squared row norm of the Hessian difference
    diffs = [exact_hessian(student, s.atoms) - s.hessian for s in samples[:2]]
    reference = sum(float((d.reshape(len(d) * 3, -1) ** 2).sum()) for d in diffs) / sum(3 * len(d) for d in diffs)
    assert exact == pytest.approx(reference, rel=1e-10)
    projected = Batcher(samples[:2], SPECIES, CUTOFF, batch_size=2, hessian_projections=8, seed=0)
    estimates = [float(loss_terms(predict_jit(student, student.params, b), b)["hessian"]) for e in range(8) for b in projected.epoch(e)]
    assert np.mean(estimates) == pytest.approx(reference, rel=0.3)


def test_spectrum_loss_matches_supercell_dynamical_matrix(teacher):
    atoms = bulk("Si", "diamond", a=5.43)
    supercell = atoms.repeat((2, 1, 1))
    index = np.tile(np.arange(2), 2)
    q = np.array([0.5, 0.0, 0.0]) @ atoms.cell.reciprocal()  # commensurate with the 2×1×1 supercell
    h = exact_hessian(teacher, supercell).reshape(12, 12)
    # reference D(q): rows of primitive atoms, columns summed over the supercell with phases
    pos, masses = supercell.get_positions(), supercell.get_masses()
    d = np.zeros((6, 6), dtype=complex)
    for i in range(2):
        for b in range(4):
            j = index[b]
            phase = np.exp(2j * np.pi * q @ (pos[b] - pos[i])) / np.sqrt(masses[i] * masses[j])
            d[3 * i : 3 * i + 3, 3 * j : 3 * j + 3] += h[3 * i : 3 * i + 3, 3 * b : 3 * b + 3] * phase
    target = np.linalg.eigvalsh(0.5 * (d + d.conj().T))
    graph = jax.tree_util.tree_map(jnp.asarray, periodic_graph(supercell, CUTOFF, SPECIES))
    loss = jax.jit(spectrum_loss)
    assert float(loss(teacher, teacher.params, graph, bloch_projector(supercell, index, q), jnp.asarray(target))) < 1e-20


@pytest.mark.slow
def test_spectrum_loss_gradient_is_finite_at_degenerate_modes(teacher):
    atoms = bulk("Si", "diamond", a=5.43)  # at Γ the three optical modes of Si are degenerate
    graph = jax.tree_util.tree_map(jnp.asarray, periodic_graph(atoms, CUTOFF, SPECIES))
    gamma = bloch_projector(atoms, np.arange(2), np.zeros(3))
    grads = jax.jit(jax.grad(spectrum_loss, argnums=1))(teacher, teacher.params, graph, gamma, jnp.zeros(6))
    assert all(np.isfinite(np.asarray(g)).all() for g in jax.tree_util.tree_leaves(grads))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["NequIP", "MACE"])
@pytest.mark.parametrize("with_hessian", [False, True])
def test_overfits_tiny_dataset(samples, kind, with_hessian):
    student = tiny_model(seed=0, kind=kind)
    weights = {"energy": 1.0, "forces": 10.0, "stress": 10.0, "hessian": 0.1 if with_hessian else 0.0}
    data = Batcher(samples, SPECIES, CUTOFF, batch_size=3, hessian_projections=4, seed=0)
    optim = OptimConfig(learning_rate=0.02, schedule="cosine", warmup_steps=10, ema_decay=None, clip_norm=None)
    _, history = train(student, data, epochs=300, loss_weights=weights, optim=optim)
    first, last = history.records[0]["loss"], history.records[-1]["loss"]
    assert last < first / 100, (first, last)


def test_checkpoint_resume_is_exact(samples, tmp_path):
    data = Batcher(samples, SPECIES, CUTOFF, batch_size=2, hessian_projections=4, seed=0)
    weights = {"energy": 1.0, "forces": 10.0}
    straight, _ = train(tiny_model(0), data, epochs=4, loss_weights=weights)

    def interrupt(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    ckpt = tmp_path / "ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        train(tiny_model(0), data, epochs=4, loss_weights=weights, checkpoint=ckpt, checkpoint_every=1, valid_every=1, log=interrupt)
    resumed, history = train(tiny_model(0), data, epochs=4, loss_weights=weights, checkpoint=ckpt)
    assert [r["epoch"] for r in history.records] == [1, 2, 3, 4]
    for a, b in zip(jax.tree_util.tree_leaves(straight.params), jax.tree_util.tree_leaves(resumed.params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)
