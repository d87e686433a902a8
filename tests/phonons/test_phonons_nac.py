"""LO–TO splitting through the ``Phonons`` facade, its files and the CLI (phonopy's DFT NaCl, ZnO)."""

import dataclasses

import numpy as np
import phonopy
import pytest

import phonax_fast as pf
from phonax_fast.cli import main
from reference_data import born_file, load_polar
from structures import random_nequip


@pytest.mark.parametrize(("name", "method"), [("NaCl", "gonze"), ("NaCl", "wang"), ("ZnO", "gonze"), ("ZnO", "wang")])
def test_band_structure_matches_phonopy(name, method):
    """Segments through Γ take the limit along the segment, as phonopy's band structure does."""
    ph = load_polar(name, method)
    phonons = pf.Phonons.from_phonopy(ph)
    bands = phonons.band_structure(npoints=60)
    ph.run_band_structure(bands.path.segments)
    np.testing.assert_allclose(bands.frequencies, np.concatenate(ph.band_structure.frequencies), rtol=0, atol=1e-5)
    gamma = np.where(np.linalg.norm(bands.qpoints, axis=1) < 1e-12)[0]
    assert len(gamma) and np.abs(bands.frequencies[gamma] - phonons.frequencies([[0, 0, 0]])).max() > 1  # LO–TO, THz


def test_set_nac_from_a_born_file_equals_phonopys():
    ph = load_polar("NaCl")
    plain = pf.Phonons.from_force_constants(dataclasses.replace(pf.interop.force_constants_from_phonopy(ph), nac=None))
    assert plain.set_nac(born_file=born_file("NaCl")) is plain
    np.testing.assert_allclose(plain.nac.born, ph.dynamical_matrix.born, atol=1e-12)
    np.testing.assert_allclose(plain.nac.epsilon, ph.dynamical_matrix.dielectric_constant, atol=1e-12)
    assert plain.nac.unit_factor == pytest.approx(ph.nac_params["factor"])
    with pytest.raises(ValueError, match="one source of Born charges"):
        plain.set_nac(np.zeros((2, 3, 3)), np.eye(3), born_file=born_file("NaCl"))
    with pytest.raises(ValueError, match="needs"):
        plain.set_nac(np.zeros((2, 3, 3)))


def test_frequencies_reject_bad_qpoints():
    phonons = pf.Phonons.from_phonopy(load_polar("NaCl"))
    with pytest.raises(ValueError, match="shape"):
        phonons.frequencies(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="finite"):
        phonons.frequencies([[np.nan, 0, 0]])


def test_written_files_carry_the_correction(tmp_path):
    phonons = pf.Phonons.from_phonopy(load_polar("ZnO", "wang"))
    written = phonons.write(tmp_path, npoints=30, mesh=(4, 4, 4), formats=("png",))
    assert "BORN" in written
    q = np.random.default_rng(0).uniform(-0.5, 0.5, size=(4, 3))
    reloaded = phonopy.load(written["phonopy_params.yaml"], log_level=0)
    assert reloaded.nac_params["method"] == "wang"
    reloaded.run_qpoints(q)
    np.testing.assert_allclose(phonons.frequencies(q), reloaded.qpoints.frequencies, atol=1e-8)
    reloaded.run_qpoints([[0, 0, 0]], nac_q_direction=[0, 0, 1])  # (with a direction at Γ only: see test_nac.py)
    np.testing.assert_allclose(phonons.frequencies([[0, 0, 0]], q_direction=[0, 0, 1]), reloaded.qpoints.frequencies,
                               rtol=0, atol=1e-6)  # acoustic modes at Γ: √(round-off) ~ 1e-7 THz
    # BORN with FORCE_CONSTANTS: what a phonopy user loads
    exported = phonons.to_phonopy()
    from_files = phonopy.load(supercell_matrix=exported.supercell_matrix, unitcell=exported.unitcell,
                              primitive_matrix=np.eye(3), force_constants_filename=written["FORCE_CONSTANTS"],
                              born_filename=written["BORN"], is_compact_fc=True, log_level=0)
    np.testing.assert_allclose(from_files.nac_params["born"], phonons.nac.born, atol=1e-7)
    np.testing.assert_allclose(from_files.nac_params["dielectric"], phonons.nac.epsilon, atol=1e-7)


@pytest.fixture(scope="module")
def nacl_model():
    return random_nequip(["Na", "Cl"], cutoff=3.0, num_layers=1, lmax=1, channels=4, seed=2)


def test_cli_born_gives_lo_to_splitting(nacl_model, tmp_path, capsys):
    from ase.build import bulk

    structure = tmp_path / "NaCl.vasp"
    bulk("NaCl", "rocksalt", a=5.69).write(structure, format="vasp")
    model_path = tmp_path / "model.npz"
    nacl_model.save(model_path)
    out = tmp_path / "out"
    args = ["phonons", str(structure), "--model", str(model_path), "--out", str(out), "--npoints", "20", "--mesh", "3", "3", "3"]
    assert main(args + ["--born", str(born_file("NaCl"))]) == 0
    printed = capsys.readouterr().out
    assert "non-analytic correction: gonze" in printed and (out / "BORN").is_file()
    assert main(args + ["--born", str(tmp_path / "missing")]) == 2
    assert "BORN file" in capsys.readouterr().err
    (tmp_path / "bad").write_text("14.4\n1 0 0\n")
    assert main(args + ["--born", str(tmp_path / "bad")]) == 2
    assert "cannot read BORN file" in capsys.readouterr().err


def test_irreps_along_a_direction_have_the_lo_mode():
    phonons = pf.Phonons.from_phonopy(load_polar("NaCl"))
    along = phonons.irreps(q_direction=[1, 0, 0])
    np.testing.assert_allclose(np.sort(along.frequencies)[3:],
                               phonons.frequencies([[0, 0, 0]], q_direction=[1, 0, 0])[0][3:], atol=1e-6)
    analytic = phonons.irreps()
    assert np.sort(analytic.frequencies)[-1] < np.sort(along.frequencies)[-1] - 2  # TO 4.6 THz, LO 7.4 THz
