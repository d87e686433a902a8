"""Phonopy interoperability and files: our force constants through phonopy and back, and the CLI."""

import numpy as np
import phonopy
import pytest
import yaml
from phonopy.file_IO import parse_FORCE_CONSTANTS

import phonax_fast as pf
from phonax_fast.cli import main
from structures import random_nequip, silicon


@pytest.fixture(scope="module")
def model():
    return random_nequip(["Si"], cutoff=3.6, num_layers=2, lmax=2, channels=4, seed=4)


@pytest.fixture(scope="module")
def phonons(model):
    ph = pf.Phonons(silicon(), model)
    ph.fcs
    return ph


@pytest.fixture(scope="module")
def written(phonons, tmp_path_factory):
    out = tmp_path_factory.mktemp("si")
    return phonons.write(out, npoints=40, mesh=(6, 6, 6), formats=("png",))


def test_phonopy_object_reproduces_our_frequencies(phonons):
    phonon = phonons.to_phonopy()
    q = np.random.default_rng(1).random((10, 3))
    phonon.run_qpoints(q)
    np.testing.assert_allclose(phonon.qpoints.frequencies, phonons.frequencies(q), atol=1e-6)


def test_round_trip_through_phonopy(phonons):
    back = pf.Phonons.from_phonopy(phonons.to_phonopy())
    q = np.random.default_rng(2).random((10, 3))
    np.testing.assert_allclose(back.frequencies(q), phonons.frequencies(q), atol=1e-6)


def test_units(phonons):
    q = [[0.1, 0.2, 0.3]]
    thz = phonons.frequencies(q)
    np.testing.assert_allclose(phonons.frequencies(q, unit="cm-1"), thz * 33.35641, rtol=1e-6)
    np.testing.assert_allclose(phonons.frequencies(q, unit="meV"), thz * 4.135667, rtol=1e-6)


def test_phonopy_params_yaml_loads_in_phonopy(phonons, written):
    loaded = phonopy.load(written["phonopy_params.yaml"], produce_fc=False, log_level=0)
    q = np.random.default_rng(3).random((5, 3))
    loaded.run_qpoints(q)
    np.testing.assert_allclose(loaded.qpoints.frequencies, phonons.frequencies(q), atol=1e-6)


def test_force_constants_file_matches(phonons, written):
    fc = parse_FORCE_CONSTANTS(str(written["FORCE_CONSTANTS"]))
    np.testing.assert_allclose(fc, phonons.to_phonopy().force_constants, atol=1e-12)


def test_band_yaml_has_our_bands(phonons, written):
    data = yaml.safe_load(open(written["band.yaml"]))
    freqs = np.array([[b["frequency"] for b in p["band"]] for p in data["phonon"]])
    bands = phonons.band_structure(npoints=40)
    np.testing.assert_allclose(freqs, bands.frequencies, atol=1e-5)


def test_total_dos_file(written):
    freqs, dos = np.loadtxt(written["total_dos.dat"]).T
    assert len(freqs) > 50 and np.all(dos >= -1e-12)
    assert written["bands.png"].stat().st_size > 10_000


def test_cli_writes_everything(model, tmp_path, capsys):
    model_path = tmp_path / "model.npz"
    model.save(model_path)
    out = tmp_path / "out"
    code = main(["phonons", "example:Si", "--model", str(model_path), "--out", str(out), "--npoints", "30", "--mesh", "4", "4", "4"])
    assert code == 0
    for name in ("bands.png", "bands.pdf", "dos.png", "band.yaml", "total_dos.dat", "phonopy_params.yaml", "FORCE_CONSTANTS"):
        assert (out / name).is_file(), name
    assert "acoustic-sum-rule residual" in capsys.readouterr().out


def test_cli_reports_bad_input(tmp_path, capsys):
    assert main(["phonons", str(tmp_path / "missing.cif")]) == 2
    assert "no structure file" in capsys.readouterr().err


def test_demo_model_gives_dft_like_silicon():
    """The demo model (trained on phonopy's VASP Si force sets): Γ optical mode near DFT's 15.10 THz."""
    ph = pf.Phonons(pf.interop.read_structure("example:Si"), pf.models.load("demo"))
    gamma = np.sort(ph.frequencies([[0, 0, 0]])[0])
    assert np.abs(gamma[:3]).max() < 1e-4
    assert np.ptp(gamma[3:]) < 1e-6 and abs(gamma[3] - 15.10) < 1.0, gamma
