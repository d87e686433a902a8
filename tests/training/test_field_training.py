"""Training field models (issue 16, item 2): per-structure fields in a batch, dipole, polarizability
and Born-charge labels, their losses, metrics and extxyz round trip, and the errors for misuse.

The batched responses are checked against ``dielectric.field_response`` of each structure alone
(itself checked against finite differences in tests/models/test_field_models.py); training is
checked to learn a teacher field model's responses that an untrained student gets wrong.
"""

import numpy as np
import pytest
import yaml
from ase.build import molecule

import phonax_fast as pf
from phonax_fast import dielectric
from phonax_fast.cli import main
from phonax_fast.graphs import periodic_graph
from phonax_fast.training import Batcher, Sample, read_extxyz, train, write_extxyz
from phonax_fast.training.losses import predict_jit, total_loss
from phonax_fast.training.metrics import evaluate

SPECIES = ["H", "C", "O"]
HYPER = dict(cutoff=2.5, num_layers=1, lmax=1, channels=4)


def structures(n, seed=0, mixed=True):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        atoms = molecule("H2CO" if mixed and k % 2 else "H2O")
        atoms.rattle(0.05, seed=int(rng.integers(1 << 30)))
        out.append((atoms, rng.uniform(-0.2, 0.2, size=3)))  # V/Å
    return out


def labelled(teacher, n, seed=0, labels=("energy", "forces", "dipole", "polarizability", "born_charges"), mixed=True):
    """Samples with the teacher's responses at each structure's field (water and formaldehyde
    alternating, or water only)."""
    samples = []
    for atoms, field in structures(n, seed, mixed):
        r = dielectric.field_response(teacher, periodic_graph(atoms, teacher.cutoff, teacher.species), field, order=1)
        values = {"energy": float(r.energy), "forces": np.asarray(r.forces), "dipole": np.asarray(r.dipole),
                  "polarizability": np.asarray(r.polarizability), "born_charges": np.asarray(r.born_charges)}
        samples.append(Sample(atoms, field=field, **{k: values[k] for k in labels}))
    return samples


@pytest.fixture(scope="module")
def teacher():
    return pf.models.FieldNequIP.init(SPECIES, field_order=2, seed=11, **HYPER)


def test_batched_responses_equal_each_structure_alone(teacher):
    samples = labelled(teacher, 3, mixed=False)  # one shape: one compilation of the single-structure reference
    batch = next(Batcher(samples, teacher.species, teacher.cutoff, batch_size=3, shuffle=False).epoch(0))
    pred = predict_jit(teacher, teacher.params, batch)
    start = 0
    for k, s in enumerate(samples):
        n = len(s.atoms)
        np.testing.assert_allclose(pred.energy[k], s.energy, rtol=1e-12)
        np.testing.assert_allclose(pred.forces[start:start + n], s.forces, rtol=0, atol=1e-11)
        np.testing.assert_allclose(pred.dipole[k], s.dipole, rtol=0, atol=1e-11)
        np.testing.assert_allclose(pred.polarizability[k], s.polarizability, rtol=0, atol=1e-11)
        np.testing.assert_allclose(pred.born_charges[start:start + n], s.born_charges, rtol=0, atol=1e-11)
        start += n
    assert np.abs(np.asarray(pred.dipole)).max() > 1e-3  # the teacher responds to its field


@pytest.mark.slow
def test_a_student_learns_the_teachers_responses(teacher, tmp_path):
    """``phonax-fast train`` on a YAML configuration: a FieldNequIP student, extxyz data with fields,
    dipoles, polarizabilities and Born charges; its held-out errors fall at least twofold."""
    write_extxyz(tmp_path / "train.xyz", labelled(teacher, 12, seed=1))
    write_extxyz(tmp_path / "valid.xyz", labelled(teacher, 4, seed=2))
    config = {
        "model": {"name": "FieldNequIP", "species": SPECIES, "field_order": 2, "seed": 5, **HYPER},
        "data": {"train": [{"extxyz": "train.xyz"}], "valid": [{"extxyz": "valid.xyz"}]},
        "loss_weights": {"energy": 1.0, "forces": 10.0, "dipole": 10.0, "polarizability": 10.0, "born_charges": 10.0},
        "batch_size": 3, "epochs": 60, "seed": 0, "valid_every": 60,
        "optimizer": {"learning_rate": 0.01},
        "output": {"model": "student.npz", "checkpoint": None},
    }
    (tmp_path / "field.yaml").write_text(yaml.safe_dump(config))
    student = pf.models.FieldNequIP.init(SPECIES, field_order=2, seed=5, **HYPER)  # the configured start
    valid = Batcher(read_extxyz(tmp_path / "valid.xyz"), SPECIES, student.cutoff, batch_size=4, shuffle=False)
    before = evaluate(student, student.params, valid)
    assert main(["train", str(tmp_path / "field.yaml")]) == 0
    trained = pf.models.load(tmp_path / "student.npz")
    assert trained.field_order == 2
    after = evaluate(trained, trained.params, valid)
    for name in ("dipole", "polarizability", "born_charges"):
        assert after[f"{name}_mae"] < 0.5 * before[f"{name}_mae"], (name, before, after)
    assert after["forces_mae"] < before["forces_mae"]


def test_field_labels_round_trip_through_extxyz(teacher, tmp_path):
    samples = labelled(teacher, 3, mixed=False)
    write_extxyz(tmp_path / "field.xyz", samples)
    back = read_extxyz(tmp_path / "field.xyz")
    for a, b in zip(samples, back):
        for name in ("field", "dipole", "polarizability"):  # frame info: full precision
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-12, atol=1e-14)
        for name in ("born_charges", "forces"):  # per-atom arrays: ASE writes 8 decimals
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=0, atol=1e-8)
        assert "dipole" not in b.atoms.info and "born_charges" not in b.atoms.arrays


def test_misuse_is_named(teacher):
    plain = pf.models.NequIP.init(SPECIES, seed=1, **HYPER)
    samples = labelled(teacher, 2, mixed=False)
    data = Batcher(samples, plain.species, plain.cutoff, batch_size=2)
    with pytest.raises(ValueError, match="electric-field labels .* NequIP takes no field: train a field model"):
        train(plain, data, epochs=1, loss_weights={"energy": 1.0})
    batch = next(data.epoch(0))
    with pytest.raises(ValueError, match=r"loss terms \['dipole'\] need a model with an electric field"):
        total_loss(plain, plain.params, batch, {"dipole": 1.0})
    with pytest.raises(ValueError, match=r"born_charges of shape \(2, 3, 3\) do not fit 3 atoms"):
        Sample(samples[0].atoms, born_charges=np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="field of shape"):
        Sample(samples[0].atoms, field=np.zeros(2))


def test_batches_without_response_labels_skip_the_response_terms(teacher):
    """A batch with no polarizability or Born-charge labels is trained without those terms (their
    value there is zero anyway), so it skips the forward-mode pass; a batch with them keeps them."""
    from phonax_fast.training.trainer import batch_weights

    weights = (("born_charges", 1.0), ("forces", 10.0), ("polarizability", 2.0))
    plain = labelled(teacher, 2, labels=("energy", "forces"), mixed=False)
    rich = labelled(teacher, 2, mixed=False)
    common = dict(species=teacher.species, cutoff=teacher.cutoff, batch_size=2, shuffle=False)
    batch = next(Batcher(plain, **common).epoch(0))
    assert not np.any(batch.born_mask) and not np.any(batch.polarizability_mask)  # the terms' masked means are 0
    assert batch_weights(weights, batch) == (("forces", 10.0),)
    assert batch_weights(weights, next(Batcher(rich, **common).epoch(0))) == weights
    assert batch_weights((("born_charges", 1.0),), batch) == (("born_charges", 1.0),)  # nothing else to train


def test_a_phonopy_source_with_a_born_file_labels_the_primitive_cell():
    """``born: BORN`` in a phonopy data source adds the primitive cell with the file's Born charges
    (expanded to every atom as phonopy expands them) and α = (ε∞ − 1)·ε₀V, whose ε∞ is the file's."""
    from reference_data import load_polar, phonopy_sdist
    from phonax_fast.training.config import read_source

    root = phonopy_sdist()
    source = {"phonopy": "test/phonopy_disp_NaCl.yaml", "force_sets": "test/FORCE_SETS_NaCl", "born": "test/BORN_NaCl"}
    samples = read_source(source, root)
    cell = samples[-1]
    assert len(samples) == 3 and len(cell.atoms) == 2 and cell.forces is None and cell.energy is None
    ph = load_polar("NaCl")  # phonopy's own reading of the same BORN file
    np.testing.assert_allclose(cell.born_charges, ph.nac_params["born"], atol=1e-12)
    epsilon = dielectric.dielectric_tensor(cell.polarizability, cell.atoms.get_volume())
    np.testing.assert_allclose(epsilon, ph.nac_params["dielectric"], atol=1e-12)
    assert cell.atoms.get_volume() == pytest.approx(ph.primitive.volume)
    with pytest.raises(ValueError, match="BORN file"):
        read_source({**source, "born": "test/missing_BORN"}, root)
