"""``phonax-fast train CONFIG.yaml``: configuration checks and an end-to-end run on project-made data."""

import argparse

import numpy as np
import phonax_fast as pf
import pytest
import yaml
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import write
from phonax_fast.cli.train import add_train_command
from phonax_fast.training.config import TrainConfig

MODEL = {"name": "NequIP", "species": ["Cu"], "cutoff": 3.0, "num_layers": 1, "lmax": 1, "channels": 4, "radial_hidden": [8]}


def emt_data(path, n=3):
    """Rattled fcc Cu cells labelled by ASE's EMT (energy, forces, stress)."""
    frames = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.6)
        atoms.positions += np.random.default_rng(k).normal(scale=0.05, size=atoms.positions.shape)
        atoms.calc = EMT()
        atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        frames.append(atoms)
    write(path, frames, format="extxyz")


def write_config(tmp_path, **changes):
    config = {"model": MODEL, "data": {"train": [{"extxyz": "train.xyz"}], "valid": [{"extxyz": "train.xyz"}]},
              "loss_weights": {"energy": 1.0, "forces": 10.0, "stress": 1.0}, "batch_size": 3, "epochs": 2,
              "valid_every": 1, "output": {"model": "out.npz", "checkpoint": "ckpt.npz"}}
    config.update(changes)
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"bogus": 1}, "unknown configuration keys"),
        ({"init_from": "x.npz"}, "exactly one of 'model'"),
        ({"data": {"train": []}}, "data.train"),
        ({"data": {"train": [{"extxyz": "a", "phonopy": "b"}]}}, "exactly one of"),
        ({"optimizer": {"optimizer": "sgd"}}, "unknown optimizer"),
    ],
)
def test_bad_configurations_fail_early(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_file(write_config(tmp_path, **changes))


def test_train_command_end_to_end(tmp_path):
    emt_data(tmp_path / "train.xyz")
    parser = argparse.ArgumentParser()
    add_train_command(parser.add_subparsers())
    args = parser.parse_args(["train", str(write_config(tmp_path))])
    assert args.run(args) == 0
    model = pf.models.load(tmp_path / "out.npz")
    assert model.species == ("Cu",) and (tmp_path / "ckpt.npz").exists()
    # resuming a finished run trains no further and rewrites the same model
    assert args.run(args) == 0
    again = pf.models.load(tmp_path / "out.npz")
    np.testing.assert_array_equal(np.asarray(model.params["scale"]), np.asarray(again.params["scale"]))
