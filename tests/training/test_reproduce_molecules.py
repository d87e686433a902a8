"""The reproduction script of the bundled molecular model, end to end on a tiny configuration:
GFN2-xTB data written in the readers' format, training, the frequency table against GFN2-xTB."""

import numpy as np
import pytest
import yaml

from phonax_fast.training.data import read_npz

from studies import reproduce_molecules


@pytest.mark.slow
def test_reproduction_runs_end_to_end(tmp_path, capsys):
    pytest.importorskip("tblite")
    config = yaml.safe_load(reproduce_molecules.CONFIG.read_text())
    config["model"].update(lmax=1, channels=4)
    config["data"] = {"train": [{"npz": "H2O.npz"}], "valid": [{"npz": "valid/H2O.npz"}]}
    config.update(epochs=2, valid_every=1, checkpoint_every=1)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    errors = reproduce_molecules.main(["--config", str(path), "--out", str(tmp_path / "m.npz"),
                                       "--data", str(tmp_path / "data"), "--held-out", "NH3"])
    samples = read_npz(tmp_path / "data" / "H2O.npz")
    assert len(samples) == 1 + reproduce_molecules.RATTLED
    assert len(read_npz(tmp_path / "data" / "valid" / "H2O.npz")) == reproduce_molecules.VALID_RATTLED
    # the first sample is the GFN2-xTB minimum: forces ~0, a Hessian with three positive vibrations
    assert np.abs(samples[0].forces).max() < 1e-3
    assert samples[0].hessian.shape == (3, 3, 3, 3)
    assert set(errors) == {"H2O", "NH3"} and errors["H2O"]["point_group"] == "C2v"
    assert (tmp_path / "m.npz").exists()
    assert "held out" in capsys.readouterr().out
