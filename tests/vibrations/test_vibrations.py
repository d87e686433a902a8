"""Molecular vibrations: frequencies against independent Hessians, zero modes, output files."""

from collections import Counter

import numpy as np
import pytest
import ase.units as au
from ase import Atoms
from ase.build import molecule
from ase.calculators.emt import EMT

import phonax_fast as pf
from phonax_fast.vibrations import Vibrations
from structures import random_nequip
from studies.finite_differences import finite_difference_hessian


@pytest.fixture(scope="module")
def ch4():
    atoms = molecule("CH4")
    model = random_nequip(["C", "H"], cutoff=4.0, num_layers=1, lmax=2, channels=4, seed=1)
    return atoms, model, Vibrations(atoms, model)


def test_six_near_zero_modes(ch4):
    _, _, vib = ch4
    freqs = vib.frequencies_cm1
    assert vib.zero_modes.sum() == 6
    assert np.abs(freqs[vib.zero_modes]).max() <= 1e-4 * np.abs(freqs).max()
    assert np.all(np.diff(freqs) >= 0)


def test_frequencies_match_finite_differences_of_forces(ch4):
    """Independent path: central differences of the ASE calculator's forces (jax.grad of the energy)."""
    atoms, model, vib = ch4
    h_fd = finite_difference_hessian(atoms, pf.Calculator(model))
    np.testing.assert_allclose(vib.hessian, h_fd, atol=1e-5 * np.abs(h_fd).max())
    fd = Vibrations(atoms, hessian=h_fd)
    np.testing.assert_allclose(vib.frequencies_cm1, fd.frequencies_cm1, atol=0.1)
    assert np.abs(vib.frequencies_cm1 - fd.frequencies_cm1).max() < 0.01  # in practice far below the 0.1 cm⁻¹ bar


def test_methane_td_random_weights(ch4):
    """Symmetry holds for any invariant model: Td, A1 + E + 2T2, exact degeneracies."""
    _, _, vib = ch4
    assert vib.point_group == "Td"
    labels = [label for label in vib.irreps if label]
    assert Counter(labels) == {"A1": 1, "E": 2, "T2": 6}
    for s in vib.degenerate_sets:
        f = vib.frequencies_cm1[s]
        assert len(s) == {"A1": 1, "E": 2, "T2": 3}[vib.irreps[s[0]]]
        assert np.ptp(f) <= 1e-6 * np.abs(f).max()
    for label, ir, raman in zip(vib.irreps, vib.ir_active, vib.raman_active):
        if label:
            assert ir == (label == "T2")
            assert raman


def test_table_json_and_modes(ch4, tmp_path):
    atoms, _, vib = ch4
    text = vib.table()
    assert "Point group Td" in text and "T2" in text and "Raman" in text
    assert len(text.splitlines()) == 2 + 9 + (1 if (vib.frequencies_cm1 < 0).any() else 0)
    vib.write_json(tmp_path / "ch4.json")
    import json

    data = json.loads((tmp_path / "ch4.json").read_text())
    assert data["point_group"] == "Td" and len(data["frequencies_cm1"]) == 15
    np.testing.assert_allclose(np.linalg.norm(vib.modes.reshape(15, -1), axis=1), 1.0)
    e = vib.mass_weighted_modes
    np.testing.assert_allclose(e @ e.T, np.eye(15), atol=1e-10)
    masses = atoms.get_masses()
    assert np.all((vib.reduced_masses >= masses.min() / 5 - 1e-9) & (vib.reduced_masses <= masses.sum()))


def test_diatomic_spring_is_analytic():
    """H2 with a bond spring k: ν̃ = √(k/μ)/(2πc), five zero modes, Σg+ Raman-only (CODATA constants from ase.units)."""
    k = 35.0  # eV/Å²
    atoms = Atoms("H2", positions=[[0, 0, 0], [0.3, 0.4, 0.55]])
    n = np.diff(atoms.positions, axis=0)[0]
    n /= np.linalg.norm(n)
    block = k * np.outer(n, n)
    vib = Vibrations(atoms, hessian=np.block([[block, -block], [-block, block]]))
    mu = atoms.get_masses()[0] / 2
    omega = np.sqrt(k * au._e / 1e-20 / (mu * au._amu))  # rad/s
    expected = omega / (2 * np.pi * au._c * 100)  # cm⁻¹
    assert vib.point_group == "D∞h"
    assert vib.zero_modes.sum() == 5
    np.testing.assert_allclose(vib.frequencies_cm1[-1], expected, rtol=1e-5)
    # quantum-chemistry convention (reduced mass of the unit Cartesian displacement): m_H, not m_H/2
    np.testing.assert_allclose(vib.reduced_masses[-1], 2 * mu, rtol=1e-12)
    np.testing.assert_allclose(vib.zero_point_energy, 0.5 * au._hplanck * au._c * 100 * expected / au._e, rtol=1e-5)
    assert vib.irreps[-1] == "Σg+" and not vib.ir_active[-1] and vib.raman_active[-1]


def test_bad_input():
    atoms = molecule("H2O")
    with pytest.raises(ValueError, match="either a model or a hessian"):
        Vibrations(atoms)
    with pytest.raises(ValueError, match="does not fit 3 atoms"):
        Vibrations(atoms, hessian=np.eye(6))
    with pytest.raises(ValueError, match="non-finite"):
        Vibrations(atoms, hessian=np.full((9, 9), np.nan))
    periodic = atoms.copy()
    periodic.cell, periodic.pbc = [5, 5, 5], True
    with pytest.raises(ValueError, match="isolated molecules"):
        Vibrations(periodic, hessian=np.eye(9))
    with pytest.raises(ValueError, match="single atom"):
        Vibrations(Atoms("H"), hessian=np.eye(3))


def test_rigid_motion_leaves_frequencies_and_irreps_unchanged():
    """A rotated, translated copy with the rotated Hessian (of EMT, an independent potential)."""
    atoms = molecule("H2O")
    h = finite_difference_hessian(atoms, EMT())
    moved = atoms.copy()
    moved.rotate(37, (1, 2, 3))
    moved.translate((0.3, -1.0, 2.0))
    r = np.kron(np.eye(len(atoms)), _rotation_between(atoms, moved))
    a, b = Vibrations(atoms, hessian=h), Vibrations(moved, hessian=r @ h @ r.T)
    np.testing.assert_allclose(a.frequencies_cm1[~a.zero_modes], b.frequencies_cm1[~b.zero_modes], rtol=1e-9)
    assert a.point_group == b.point_group == "C2v"
    assert a.irreps == b.irreps


def _rotation_between(a, b):
    """The rotation R with b = R a about the centres of mass (Kabsch)."""
    x = a.positions - a.get_center_of_mass()
    y = b.positions - b.get_center_of_mass()
    u, _, vt = np.linalg.svd(y.T @ x)
    return u @ np.diag([1, 1, np.linalg.det(u @ vt)]) @ vt


def test_cli_writes_table_json_and_plot(ch4, tmp_path, capsys):
    import argparse
    import json

    from phonax_fast.cli.vibrations import add_vibrations_command

    atoms, model, vib = ch4
    model.save(tmp_path / "model.npz")
    atoms.write(tmp_path / "ch4.xyz")
    parser = argparse.ArgumentParser(prog="phonax-fast")
    add_vibrations_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["vibrations", str(tmp_path / "ch4.xyz"), "--model", str(tmp_path / "model.npz"), "--out", str(tmp_path / "out")]
    )
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "Point group Td" in out and "T2" in out
    data = json.loads((tmp_path / "out" / "ch4_vibrations.json").read_text())
    np.testing.assert_allclose(data["frequencies_cm1"], vib.frequencies_cm1, atol=1e-8)
    png = (tmp_path / "out" / "ch4_vibrations.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ch4_vibrations.json", "ch4_vibrations.png"]
