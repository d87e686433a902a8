"""A new user's mistakes end in one clear line, not a traceback, and write nothing (issue 18).

CLI cases: exit code 2 (130 for Ctrl-C), one line ``phonax-fast: error: …`` on stderr naming the
problem, no traceback, no output files. API cases: a ValueError whose message names the problem.
"""

import zipfile

import numpy as np
import pytest

import phonax_fast as pf
from phonax_fast.cli import main


def _fails(args, capsys, message, out=None, code=2):
    assert main(args) == code
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], captured.err
    assert "Traceback" not in captured.err + captured.out
    if out is not None:
        assert not out.exists() or not any(p for p in out.rglob("*") if p.is_file()), list(out.rglob("*"))


@pytest.fixture
def si_model(tmp_path):
    from structures import random_nequip

    path = tmp_path / "si.npz"
    random_nequip(["Si"], cutoff=3.0, num_layers=1, lmax=1, channels=4, seed=1).save(path)
    return path


@pytest.mark.parametrize(("content", "message"), [
    ("", "Empty file"),
    ("3\n\nSi 0 0 0\n", "Frame has 1 atoms, expected 3"),
    ("1\n\nXx 0 0 0\n", "unknown element 'Xx'"),
])
def test_bad_structure_files(tmp_path, capsys, content, message):
    path = tmp_path / "in.xyz"
    path.write_text(content)
    out = tmp_path / "out"
    _fails(["phonons", str(path), "--out", str(out)], capsys, message, out)


def test_bad_model_files(tmp_path, capsys, si_model):
    out = tmp_path / "out"
    text = tmp_path / "model.txt"
    text.write_text("not a model\n")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(si_model.read_bytes()[:400])
    corrupted = tmp_path / "corrupted.npz"  # a zip whose member data no longer match their CRC
    data = bytearray(si_model.read_bytes())
    with zipfile.ZipFile(si_model) as z:
        first = z.infolist()[0]
    start = first.header_offset + 30 + len(first.filename) + len(first.extra) + 8
    data[start:start + 16] = bytes(16)
    corrupted.write_bytes(bytes(data))
    for model in (text, truncated, corrupted):
        _fails(["phonons", "example:Si", "--model", str(model), "--out", str(out)], capsys,
               "is not a phonax_fast model file that can be read", out)
        assert "allow_pickle" not in capsys.readouterr().err
    _fails(["phonons", "example:Si", "--model", "defualt", "--out", str(out)], capsys, "known models are ['default', 'demo'", out)


def test_bad_output_folders(tmp_path, capsys, si_model):
    existing_file = tmp_path / "afile"
    existing_file.write_text("keep me")
    _fails(["phonons", "example:Si", "--model", str(si_model), "--out", str(existing_file)], capsys,
           "exists and is not a folder")
    assert existing_file.read_text() == "keep me"
    _fails(["phonons", "example:Si", "--model", str(si_model), "--out", str(existing_file / "sub")], capsys,
           "is not a writable folder")
    _fails(["phonons", "example:Si", "--model", str(si_model), "--out", "/proc/phonax-out"], capsys,
           "is not a writable folder")


def test_interrupt_leaves_no_partial_output(tmp_path, capsys, si_model, monkeypatch):
    out = tmp_path / "out"
    original = pf.Phonons.write

    def write_then_interrupt(self, out_dir, **kwargs):
        (out_dir / "bands.png").write_bytes(b"half a plot")
        raise KeyboardInterrupt

    monkeypatch.setattr(pf.Phonons, "write", write_then_interrupt)
    args = ["phonons", "example:Si", "--model", str(si_model), "--out", str(out), "--npoints", "10", "--mesh", "2", "2", "2"]
    _fails(args, capsys, "phonax-fast: interrupted", out, code=130)
    monkeypatch.setattr(pf.Phonons, "write", original)
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["bands.png", "bands.pdf", "dos.png", "dos.pdf", "band.yaml", "total_dos.dat", "phonopy_params.yaml",
         "FORCE_CONSTANTS"])  # no staging folder left behind


@pytest.mark.parametrize(("text", "message"), [
    ("model: [unclosed\n", "cannot parse the training configuration"),
    ("- just\n- a list\n", "is a mapping of keys"),
    ("model: {}\nepochs: banana\ndata: {train: [{extxyz: a.xyz}]}\n", "epochs must be an integer"),
    ("model: {}\ndata: {train: a.xyz}\n", "data.train must be a list"),
    ("model: {}\ndata: {train: [a.xyz]}\n", "a data source is a mapping"),
    ("model: {}\nloss_weights: {energy: lots}\ndata: {train: [{extxyz: a.xyz}]}\n", "loss_weights.energy"),
])
def test_bad_training_configurations(tmp_path, capsys, text, message):
    config = tmp_path / "train.yaml"
    config.write_text(text)
    _fails(["train", str(config)], capsys, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.yaml"]


def test_version_and_info(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.startswith("phonax-fast 0.")
    assert main(["info"]) == 0
    printed = capsys.readouterr().out
    assert "kernels compiled for: cpu" in printed and "can run here: cpu" in printed and "'default' is nequix-oam-1-pft" in printed and "nequix-mp-1-pft: Nequix" in printed


# -- the API ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def si_phonons():
    from reference_data import load_si

    return pf.Phonons.from_phonopy(load_si())


def test_api_checks_its_arguments(si_phonons):
    with pytest.raises(ValueError, match="npoints must be an integer ≥ 2"):
        si_phonons.band_structure(npoints=0)
    with pytest.raises(ValueError, match="shape"):
        si_phonons.frequencies(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="finite"):
        si_phonons.frequencies([[np.nan, 0, 0]])
    with pytest.raises(ValueError, match="temperatures must be a list of finite values"):
        si_phonons.thermal_properties([300, np.nan], mesh=(2, 2, 2))
    with pytest.raises(ValueError, match=r"10000×10000×10000 mesh has 1e\+12 q-points .* it does not fit"):
        si_phonons.dos(mesh=(10000, 10000, 10000))  # refused before any memory is taken
    with pytest.raises(ValueError, match="mesh must be 1 or 3 positive integers"):
        si_phonons.dos(mesh="banana")
    with pytest.raises(ValueError, match="known models are"):
        pf.models.load("defualt")


def test_mesh_memory_check_names_the_numbers():
    from phonax_fast.qgrid.mesh import check_mesh_fits

    check_mesh_fits((10, 10, 10), free_bytes=2**30)
    with pytest.raises(ValueError, match=r"100×100×100 mesh has 1e\+06 q-points and needs about 0.1 GiB"):
        check_mesh_fits((100, 100, 100), free_bytes=2**20)


def test_mesh_cost_is_estimated_before_the_run(si_phonons, monkeypatch):
    """The estimate counts the irreducible points from the point group (spglib's count for Si
    24³ is 413: the estimate is a slight undercount, the special points being fewer-fold), the
    memory from the grid and the tetrahedron's grid values; a long run is announced."""
    from phonax_fast.qgrid import cost, make_mesh

    estimate = cost.estimate_mesh_cost(si_phonons.fcs, 24)
    actual = len(make_mesh(si_phonons.fcs, 24).qpoints)
    assert estimate.n_grid == 24**3 and estimate.n_irreducible <= actual <= 1.5 * estimate.n_irreducible
    assert estimate.memory_bytes == 24**3 * (cost.GRID_BYTES_PER_POINT + 6 * 8) + estimate.n_irreducible * 6 * 8
    assert cost.estimate_mesh_cost(si_phonons.fcs, 24, tetrahedron=False).memory_bytes < estimate.memory_bytes
    monkeypatch.setattr(cost, "ANNOUNCE_SECONDS", 0.0)  # the per-q-point time measured on this machine
    monkeypatch.setattr(cost, "WARN_SECONDS", 0.0)
    with pytest.warns(UserWarning, match=r"a 6×6×6 mesh has 216 q-points \(about .* irreducible\) and needs about"):
        si_phonons.dos(mesh=(6, 6, 6))
    monkeypatch.setattr(cost, "free_memory", lambda: 2**20)
    with pytest.raises(ValueError, match=r"a 100×100×100 mesh .* \(0.0 GiB free\): it does not fit"):
        si_phonons.thermal_properties([300], mesh=100)


def test_cli_announces_a_long_mesh(tmp_path, capsys, si_model, monkeypatch):
    from phonax_fast.qgrid import cost

    monkeypatch.setattr(cost, "ANNOUNCE_SECONDS", 0.0)
    out = tmp_path / "out"
    assert main(["phonons", "example:Si", "--model", str(si_model), "--out", str(out), "--npoints", "5",
                 "--mesh", "4", "4", "4"]) == 0
    printed = capsys.readouterr().out
    assert "DOS: a 4×4×4 mesh has 64 q-points (about" in printed, printed


def test_training_log_is_a_table():
    from phonax_fast.training.run import EpochTable

    lines = []
    table = EpochTable(lines.append)
    table("training NequIP on 3 structures")
    table({"epoch": 1, "step": 3, "loss": 0.123456789, "valid": {"forces_mae": 0.0456789}, "spectrum_errors": [0.5, -2.0]})
    table({"epoch": 2, "step": 6, "loss": 0.0123456789, "valid": {"forces_mae": 0.0356789}, "spectrum_errors": [0.5, -1.0]})
    assert lines[0] == "training NequIP on 3 structures"
    assert lines[1].split() == ["epoch", "step", "loss", "valid.forces_mae", "spectrum_errors.max"]
    assert lines[2].split() == ["1", "3", "0.1235", "0.04568", "2"] and lines[3].split()[2] == "0.01235"
    assert len({len(line) for line in lines[1:]}) == 1  # aligned columns


def test_conventional_cell_is_reduced_to_primitive():
    """An 8-atom conventional MgO cell, reduced, gives the phonons of the 2-atom cell (same q in
    Cartesian coordinates); kept as given (the API's default), it warns that its bands are folded."""
    from ase.build import bulk

    from structures import random_nequip

    model = random_nequip(["Mg", "O"], cutoff=3.0, num_layers=1, lmax=1, channels=4, seed=3)
    conventional = pf.Phonons(bulk("MgO", "rocksalt", a=4.21, cubic=True), model, primitive=True)
    primitive = pf.Phonons(bulk("MgO", "rocksalt", a=4.21), model, primitive=True)
    assert conventional.reduced_from == 8 and len(conventional.atoms) == 2 and primitive.reduced_from is None
    q_cart = np.random.default_rng(0).uniform(-0.2, 0.2, size=(4, 3))  # 1/Å, no 2π
    a = conventional.frequencies(q_cart @ conventional.atoms.cell[:].T)
    b = primitive.frequencies(q_cart @ primitive.atoms.cell[:].T)
    np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.warns(UserWarning, match="supercell of a 2-atom primitive cell"):
        kept = pf.Phonons(bulk("MgO", "rocksalt", a=4.21, cubic=True), model)
    assert kept.reduced_from is None and len(kept.atoms) == 8


def test_close_vibration_labels_do_not_overlap():
    from types import SimpleNamespace

    from phonax_fast.plotting import plot_stick_spectrum

    vib = SimpleNamespace(frequencies_cm1=np.array([1000.0, 1001.0, 1002.0, 2000.0]), ir_active=np.ones(4, bool),
                          raman_active=np.zeros(4, bool), degenerate_sets=[[0], [1], [2], [3]],
                          irreps=["A1", "B1", "B2", "E"], atoms=SimpleNamespace(get_chemical_formula=lambda: "X"),
                          point_group="C2v")
    fig = plot_stick_spectrum(vib)
    offsets = [text.xyann[1] for text in fig.axes[0].texts]
    assert len(set(offsets[:3])) == 3 and offsets[3] == offsets[0]  # three close labels stacked, the far one not
