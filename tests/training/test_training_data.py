"""Molecular Hessian labels from files: extxyz (info / per-atom arrays), .npz (with unit
conversion) and ORCA .hess, checked against a GFN2-xTB finite-difference Hessian (tblite) that the
test computes and writes itself; plus clear errors for bad shapes and min_sizes padding."""

import numpy as np
import pytest
from ase import Atoms, units
from ase.build import molecule
from ase.io import write
from phonax_fast import units as pf_units
from phonax_fast.training.batching import Batcher, BatchSizes
from phonax_fast.training.config import read_source
from phonax_fast.training.data import (
    Sample,
    hessian_array,
    read_extxyz,
    read_npz,
    read_orca_hess,
    write_extxyz,
)

from studies.xtb_reference import XTB, fd_hessian


@pytest.fixture(scope="module")
def water():
    """Water near its GFN2-xTB minimum with GFN2-xTB energy, forces and FD Hessian (eV, Å)."""
    pytest.importorskip("tblite")
    atoms = molecule("H2O")
    atoms.positions[1] += [0.02, -0.01, 0.03]  # off the minimum: non-zero forces
    e, f = XTB(atoms).energy_forces(atoms.get_positions())
    h = fd_hessian(atoms)
    return Sample(atoms, energy=e, forces=f, hessian=h.reshape(3, 3, 3, 3))


def assert_same(sample: Sample, ref: Sample, rtol=1e-12, atol=0.0):
    np.testing.assert_array_equal(sample.atoms.numbers, ref.atoms.numbers)
    np.testing.assert_allclose(sample.atoms.positions, ref.atoms.positions, rtol=rtol, atol=atol)
    np.testing.assert_allclose(sample.energy, ref.energy, rtol=rtol)
    np.testing.assert_allclose(sample.forces, ref.forces, rtol=rtol, atol=atol)
    np.testing.assert_allclose(sample.hessian, ref.hessian, rtol=rtol, atol=atol)


def test_unit_constants_are_ases():
    """Hartree, bohr and kcal/mol conversions (phonax_fast.units) are ASE's to the last bit."""
    assert pf_units.EV_PER_HARTREE == units.Hartree and pf_units.ANGSTROM_PER_BOHR == units.Bohr
    assert pf_units.EV_PER_KCAL_PER_MOL == units.kcal / units.mol
    assert pf_units.energy_factor("hartree") == units.Hartree and pf_units.length_factor("bohr") == units.Bohr
    with pytest.raises(ValueError, match="unknown length unit 'nm'"):
        pf_units.length_factor("nm")


def test_fd_hessian_is_a_hessian(water):
    h = water.hessian.reshape(9, 9)
    np.testing.assert_allclose(h, h.T)
    # translations cost nothing: rows sum to ~0 per direction (acoustic sum rule of a molecule)
    assert np.abs(water.hessian.sum(axis=2)).max() < 1e-3 * np.abs(h).max()


def test_extxyz_round_trip(water, tmp_path):
    write_extxyz(tmp_path / "w.xyz", [water, Sample(water.atoms, energy=water.energy)])
    back = read_extxyz(tmp_path / "w.xyz")
    assert len(back) == 2 and back[1].hessian is None and back[1].forces is None
    assert_same(back[0], water, rtol=1e-9, atol=1e-7)  # extxyz columns keep 8 decimals
    assert "hessian" not in back[0].atoms.info  # the label is moved off the structure
    only_first = read_extxyz(tmp_path / "w.xyz", index=0)
    assert len(only_first) == 1 and only_first[0].hessian is not None


def test_extxyz_hessian_layouts(water, tmp_path):
    """Flattened 9N² numbers in info and per-atom (N, 9N) rows in arrays give the same Hessian."""
    h = water.hessian.reshape(9, 9)
    flat = water.atoms.copy()
    flat.info["hess"] = h.ravel()
    per_atom = water.atoms.copy()
    per_atom.arrays["hess"] = h.reshape(3, 27)  # atom i: rows 3i, 3i+1, 3i+2
    write(tmp_path / "f.xyz", [flat, per_atom], format="extxyz")
    a, b = read_extxyz(tmp_path / "f.xyz", hessian_key="hess")
    np.testing.assert_allclose(a.hessian, water.hessian, rtol=1e-9, atol=1e-7)  # 8 decimals in the file
    np.testing.assert_allclose(b.hessian, water.hessian, rtol=1e-9, atol=1e-7)
    assert "hess" not in b.atoms.arrays


def test_npz_round_trip_and_units(water, tmp_path):
    x, e, f, h = water.atoms.positions, water.energy, water.forces, water.hessian.reshape(9, 9)
    np.savez(tmp_path / "ev.npz", numbers=water.atoms.numbers, positions=x, energy=e, forces=f, hessian=h)
    assert_same(read_npz(tmp_path / "ev.npz")[0], water)
    # the same data in Hartree and bohr, as quantum-chemistry codes write it
    np.savez(tmp_path / "au.npz", numbers=water.atoms.numbers, positions=[x / units.Bohr] * 2,
             energy=[e / units.Hartree] * 2, forces=[f / (units.Hartree / units.Bohr)] * 2,
             hessian=[h / (units.Hartree / units.Bohr**2)] * 2)
    both = read_npz(tmp_path / "au.npz", energy_unit="hartree", length_unit="bohr")
    assert len(both) == 2
    for s in both:
        assert_same(s, water, rtol=1e-12, atol=1e-12)
    # kcal/mol and Å (MD17-style); 1 kcal/mol = 0.0433641 eV
    kcal = units.kcal / units.mol
    np.testing.assert_allclose(kcal, 0.0433641, rtol=1e-5)
    np.savez(tmp_path / "kcal.npz", numbers=water.atoms.numbers, positions=x, hessian=h / kcal)
    np.testing.assert_allclose(read_npz(tmp_path / "kcal.npz", energy_unit="kcal/mol")[0].hessian, water.hessian, rtol=1e-12)
    # through a configuration's data source
    (s,) = read_source({"npz": "au.npz", "energy_unit": "hartree", "length_unit": "bohr"}, tmp_path)[:1]
    assert_same(s, water, rtol=1e-12, atol=1e-12)


def orca_hess_text(atoms: Atoms, hessian_au: np.ndarray, energy_au: float, block: int = 5) -> str:
    """An ORCA-style .hess file: $hessian in column blocks of ``block``, $atoms in bohr."""
    n3 = len(hessian_au)
    lines = ["", "$orca_hessian_file", "", "$act_atom", "  0", "", "$act_coord", "  0", "", "$act_energy",
             f"    {energy_au:.12f}", "", "$hessian", str(n3)]
    for start in range(0, n3, block):
        cols = range(start, min(start + block, n3))
        lines.append(" " * 12 + "".join(f"{c:>19d}" for c in cols))
        for r in range(n3):
            lines.append(f"{r:>6d}    " + "".join(f"{hessian_au[r, c]:19.10E}" for c in cols))
    lines += ["", "$vibrational_frequencies", str(n3)] + [f"{k:>6d}  0.000000" for k in range(n3)]
    lines += ["", "#", "# The atoms: label  mass x y z (in bohrs)", "#", "$atoms", str(len(atoms))]
    for s, m, p in zip(atoms.get_chemical_symbols(), atoms.get_masses(), atoms.positions / units.Bohr):
        lines.append(f" {s:<3s}{m:12.5f}  {p[0]:16.12f} {p[1]:16.12f} {p[2]:16.12f}")
    lines += ["", "$end", ""]
    return "\n".join(lines)


def test_orca_hess_conversion(water, tmp_path):
    au = water.hessian.reshape(9, 9) / (units.Hartree / units.Bohr**2)
    atoms = water.atoms.copy()
    atoms.set_masses([16.0, 2.014, 1.008])  # an isotopologue: masses come from the file
    (tmp_path / "w.hess").write_text(orca_hess_text(atoms, au, water.energy / units.Hartree))
    s = read_orca_hess(tmp_path / "w.hess")
    assert s.atoms.get_chemical_symbols() == ["O", "H", "H"]
    np.testing.assert_allclose(s.atoms.get_masses(), [16.0, 2.014, 1.008], rtol=1e-6)
    np.testing.assert_allclose(s.atoms.positions, water.atoms.positions, atol=1e-10)
    np.testing.assert_allclose(s.hessian, water.hessian, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(s.energy, water.energy, rtol=1e-12)
    # Hartree/bohr² → eV/Å²: 97.1736 eV/Å² per atomic unit
    np.testing.assert_allclose(units.Hartree / units.Bohr**2, 97.17362, rtol=1e-6)
    (s2,) = read_source({"orca_hess": "w.hess"}, tmp_path)
    np.testing.assert_allclose(s2.hessian, s.hessian)


def test_bad_hessian_shapes_are_clear(tmp_path):
    with pytest.raises(ValueError, match=r"does not fit 3 atoms.*\(9, 9\)"):
        hessian_array(np.zeros((6, 6)), 3)
    atoms = molecule("H2O")
    bad = atoms.copy()
    bad.info["hessian"] = np.zeros(80)
    write(tmp_path / "bad.xyz", bad, format="extxyz")
    with pytest.raises(ValueError, match="frame 0.*does not fit 3 atoms"):
        read_extxyz(tmp_path / "bad.xyz")
    np.savez(tmp_path / "bad.npz", numbers=atoms.numbers, positions=atoms.positions, hessian=np.zeros((9, 8)))
    with pytest.raises(ValueError, match="hessian of shape"):
        read_npz(tmp_path / "bad.npz")
    np.savez(tmp_path / "nopos.npz", numbers=atoms.numbers, hessian=np.zeros((9, 9)))
    with pytest.raises(ValueError, match="lacks"):
        read_npz(tmp_path / "nopos.npz")
    np.savez(tmp_path / "ok.npz", numbers=atoms.numbers, positions=atoms.positions)
    with pytest.raises(ValueError, match="unknown energy unit"):
        read_npz(tmp_path / "ok.npz", energy_unit="Ry")
    (tmp_path / "bad.hess").write_text(orca_hess_text(atoms, np.zeros((6, 6)), 0.0))
    with pytest.raises(ValueError, match=r"\$hessian is 6×6 but \$atoms has 3 atoms"):
        read_orca_hess(tmp_path / "bad.hess")
    (tmp_path / "none.hess").write_text("$orca_hessian_file\n$end\n")
    with pytest.raises(ValueError, match=r"no \$hessian"):
        read_orca_hess(tmp_path / "none.hess")


def test_min_sizes_pads_subsets_to_one_shape():
    rng = np.random.default_rng(0)
    samples = []
    for k in range(5):
        atoms = molecule("H2O")
        atoms.positions += rng.normal(scale=0.02, size=(3, 3))
        h = rng.normal(size=(9, 9))
        samples.append(Sample(atoms, energy=0.0, forces=rng.normal(size=(3, 3)), hessian=(h + h.T).reshape(3, 3, 3, 3)))
    full = Batcher(samples, ("H", "O"), 3.0, batch_size=4, hessian_projections=2)
    small = Batcher(samples[:1], ("H", "O"), 3.0, batch_size=4, hessian_projections=2, min_sizes=full.sizes)
    assert small.sizes == full.sizes
    batch = next(small.epoch(0))
    big_batch = next(full.epoch(0))
    assert all(a.shape == b.shape for a, b in zip(jax_leaves(batch), jax_leaves(big_batch)))
    assert float(batch.forces_mask.sum()) == 3 and float(batch.energy_mask.sum()) == 1
    with pytest.raises(ValueError, match="unit tangents"):
        Batcher(samples[:1], ("H", "O"), 3.0, batch_size=1, hessian_projections=0,
                min_sizes=BatchSizes(nodes=0, edges=0, structures=0, tangents=18))


def jax_leaves(tree):
    import jax

    return jax.tree_util.tree_leaves(tree)
