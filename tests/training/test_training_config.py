"""The spectrum loss in training configurations: parsing, reference files (Hessian or frequencies),
agreement with the spectrum fine-tuning loss, and a ``phonax-fast train`` run where it lowers the
spectrum error. Reference data are made here (a random "teacher" NequIP's exact Hessian; no tblite)."""

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import phonax_fast as pf
import pytest
import yaml
from ase.build import molecule
from phonax_fast.graphs import periodic_graph
from phonax_fast.training.batching import Batcher
from phonax_fast.cli.train import add_train_command
from phonax_fast.training.config import TrainConfig, load_reference, read_source, read_spectrum_source
from phonax_fast.training.data import Sample, write_extxyz
from phonax_fast.training.losses import spectra_loss, spectrum_target, total_loss
from phonax_fast.training.metrics import spectrum_errors
from phonax_fast.training.run import build_model
from phonax_fast.training.spectrum_finetune import (
    eigenvalues_to_cm1,
    molecular_spectrum_loss,
    reference_eigenvalues,
)

MODEL = {"name": "NequIP", "species": ["H", "O"], "cutoff": 3.0, "num_layers": 1, "lmax": 1, "channels": 4,
         "radial_hidden": [8], "avg_num_neighbors": 2.0, "seed": 0}


@jax.jit
def _hessian(model, graph):
    return jax.hessian(lambda x: model.energy(graph._replace(positions=x)))(graph.positions)


def teacher_data(tmp_path):
    """Rattled water labelled by a random teacher model (train.xyz) and the teacher's exact Hessian at
    the undistorted geometry (water.npz: Hessian; water_freq.npz: frequencies in cm⁻¹)."""
    hyper = {k: v for k, v in MODEL.items() if k not in ("name", "species", "seed")}
    teacher = pf.models.NequIP.init(["H", "O"], seed=7, **hyper)
    calc = pf.Calculator(teacher)
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(3):
        atoms = molecule("H2O")
        atoms.positions += rng.normal(scale=0.03, size=(3, 3))
        atoms.calc = calc
        samples.append(Sample(atoms.copy(), energy=atoms.get_potential_energy(), forces=atoms.get_forces()))
    write_extxyz(tmp_path / "train.xyz", samples)
    water = molecule("H2O")
    graph = jax.tree_util.tree_map(jnp.asarray, periodic_graph(water, teacher.cutoff, teacher.species))
    h = np.asarray(_hessian(teacher, graph)).reshape(9, 9)
    np.savez(tmp_path / "water.npz", numbers=water.numbers, positions=water.positions, hessian=h)
    freqs = eigenvalues_to_cm1(reference_eigenvalues(water, h))
    np.savez(tmp_path / "water_freq.npz", numbers=water.numbers, positions=water.positions, frequencies_cm1=freqs)
    return water, h


def config(tmp_path, **changes):
    raw = {"model": MODEL, "data": {"train": [{"extxyz": "train.xyz"}]}, "spectra": [{"npz": "water.npz"}],
           "loss_weights": {"energy": 1.0, "forces": 1.0, "spectrum": 100.0}, "batch_size": 3, "epochs": 40,
           "valid_every": 40, "optimizer": {"learning_rate": 0.01, "warmup_steps": 5, "ema_decay": None},
           "output": {"model": "out.npz", "checkpoint": None}}
    raw.update(changes)
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"spectra": []}, "loss_weights.spectrum needs reference spectra"),
        ({"spectra": [{"xyz": "a.xyz"}]}, "exactly one of"),
        ({"spectra": ["water.npz"]}, "a data source is a mapping"),  # a TypeError
        ({"loss_weights": {"spectra": 1.0}}, "unknown loss terms"),
    ],
)
def test_bad_spectrum_configurations(tmp_path, changes, message):
    teacher_data(tmp_path)
    if message == "unknown loss terms":  # found when the loss is first built
        from phonax_fast.training.losses import total_loss as tl

        with pytest.raises(ValueError, match=message):
            tl(None, None, None, {"spectra": 1.0})
        return
    with pytest.raises((ValueError, TypeError), match=message):
        TrainConfig.from_file(config(tmp_path, **changes))


@pytest.mark.slow
def test_spectrum_references_from_hessian_or_frequencies(tmp_path):
    water, _ = teacher_data(tmp_path)
    model = build_model(TrainConfig.from_file(config(tmp_path)))
    (atoms, ref), = read_spectrum_source({"npz": "water.npz"}, tmp_path)
    (atoms_f, ref_f), = read_spectrum_source({"npz": "water_freq.npz"}, tmp_path)
    from_h = spectrum_target(atoms, ref, model.species, model.cutoff)
    from_f = spectrum_target(atoms_f, ref_f, model.species, model.cutoff)
    assert from_h.target.shape == (3,)
    np.testing.assert_allclose(from_f.target, from_h.target, rtol=1e-10)
    # the training term is the fine-tuning loss, and total_loss adds it with its weight
    direct = molecular_spectrum_loss(model, model.params, from_h.graph, from_h.projector, from_h.target)
    np.testing.assert_allclose(spectra_loss(model, model.params, [from_h, from_f]), direct, rtol=1e-12)
    batch = next(Batcher([Sample(water, forces=np.zeros((3, 3)))], model.species, model.cutoff, 1).epoch(0))
    loss, terms = total_loss(model, model.params, batch, {"forces": 1.0, "spectrum": 2.0}, [from_h])
    np.testing.assert_allclose(loss, terms["forces"] + 2.0 * direct, rtol=1e-12)
    with pytest.raises(ValueError, match="reference spectrum of shape"):
        spectrum_target(atoms, np.ones(4), model.species, model.cutoff)
    periodic = atoms.copy()
    periodic.pbc, periodic.cell = True, np.eye(3) * 10
    with pytest.raises(ValueError, match="isolated molecules"):
        spectrum_target(periodic, ref, model.species, model.cutoff)


@pytest.mark.slow  # two training runs through the CLI; in CI's slow tier
def test_train_command_with_spectrum_loss(tmp_path):
    """The spectrum term lowers the spectrum error of the trained model; the records report it."""
    water, h = teacher_data(tmp_path)
    cfg = TrainConfig.from_file(config(tmp_path))
    start = build_model(cfg)
    target = spectrum_target(water, h, start.species, start.cutoff)
    before = spectrum_errors(start, start.params, [target])["mae_cm1"]
    parser = argparse.ArgumentParser()
    add_train_command(parser.add_subparsers())
    args = parser.parse_args(["train", str(config(tmp_path))])
    assert args.run(args) == 0
    trained = pf.models.load(tmp_path / "out.npz")
    after = spectrum_errors(trained, trained.params, [target])["mae_cm1"]
    print(f"water spectrum MAE: {before:.1f} → {after:.1f} cm-1")
    assert after < 0.5 * before
    # the same configuration without the spectrum term (spectra only reported) does not get there
    args = parser.parse_args(["train", str(config(tmp_path, loss_weights={"energy": 1.0, "forces": 1.0},
                                                  output={"model": "plain.npz", "checkpoint": None}))])
    assert args.run(args) == 0
    plain = pf.models.load(tmp_path / "plain.npz")
    assert spectrum_errors(plain, plain.params, [target])["mae_cm1"] > after


DEFAULT_CONFIG = Path(pf.models.__file__).parent / "data" / "demo.yaml"


def test_phonopy_sdist_root_is_supplied_not_downloaded(tmp_path, phonopy_sdist):
    """The bundled model's configuration names phonopy's source distribution (data.root
    "phonopy-sdist"): the library asks for the folder instead of fetching it; the test helper
    supplies it, and the configured DFT data read from there."""
    config = TrainConfig.from_file(DEFAULT_CONFIG)
    with pytest.raises(ValueError, match="phonopy-sdist.*data_root=DIR"):
        config.root()
    with pytest.raises(ValueError, match="not a folder"):
        TrainConfig.from_file(DEFAULT_CONFIG, data_root=tmp_path / "missing").root()
    supplied = TrainConfig.from_file(DEFAULT_CONFIG, data_root=phonopy_sdist)
    assert supplied.root() == phonopy_sdist and supplied.train == config.train
    (sample,) = read_source({"phonopy": "test/phonopy_params_Si.yaml"}, supplied.root())
    assert len(sample.atoms) == 16 and sample.forces.shape == (16, 3)
    reference = load_reference(supplied.phonons["MgO"], supplied.root())
    assert reference.force_constants is not None
