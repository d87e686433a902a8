"""Bad input fails early with a message naming the problem."""

import numpy as np
import pytest
from ase import Atoms

import phonax_fast as pf
from structures import random_nequip, silicon


@pytest.fixture(scope="module")
def model():
    return random_nequip(["Si"], cutoff=4.0, num_layers=1, lmax=1, channels=4)


def test_unknown_element(model):
    atoms = silicon()
    atoms[1].symbol = "Ge"
    with pytest.raises(ValueError, match=r"\['Ge'\].*unknown"):
        pf.Phonons(atoms, model)


def test_overlapping_atoms(model):
    atoms = silicon()
    atoms.positions[1] = atoms.positions[0] + [0.1, 0, 0]
    with pytest.raises(ValueError, match="overlapping"):
        pf.Phonons(atoms, model)


def test_zero_cell_vector_with_pbc(model):
    atoms = Atoms("Si2", positions=[[0, 0, 0], [1.3, 1.3, 1.3]], cell=[[0, 2.7, 2.7], [0, 0, 0], [2.7, 2.7, 0]], pbc=True)
    with pytest.raises(ValueError, match="cell vector 1 is zero"):
        pf.Phonons(atoms, model)


def test_nan_positions(model):
    atoms = silicon()
    atoms.positions[0, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        pf.Phonons(atoms, model)


def test_molecule_given_to_phonons(model):
    with pytest.raises(ValueError, match="periodic in all three"):
        pf.Phonons(Atoms("Si2", positions=[[0, 0, 0], [2.3, 0, 0]]), model)


def test_unknown_model_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        pf.models.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a phonax_fast model file"):
        pf.models.load(bad)


def test_unknown_frequency_unit(model):
    from phonax_fast.units import convert_frequency

    with pytest.raises(ValueError, match="unknown frequency unit"):
        convert_frequency(1.0, "Hz")
