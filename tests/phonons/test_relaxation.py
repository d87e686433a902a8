"""Relaxation before phonons: the minimum found equals an independent scan of the model's energy,
the space group is kept, and imaginary modes are reported."""

import warnings

import numpy as np
import pytest
from ase.build import bulk

import phonax_fast as pf
from phonax_fast.relaxation import relax
from structures import random_nequip


@pytest.fixture(scope="module")
def model():
    return random_nequip(["Mg", "O"], cutoff=3.5, num_layers=2, lmax=1, channels=4, seed=3)


def energy(model, atoms):
    atoms = atoms.copy()
    atoms.calc = pf.Calculator(model)
    return atoms.get_potential_energy()


def test_cell_relaxation_finds_the_minimum_of_an_energy_scan(model):
    start = bulk("MgO", "rocksalt", a=4.2)
    relaxed, report = relax(start, model, cell=True, fmax=1e-4)
    assert report.converged and report.moved_cell and report.space_group_before == report.space_group_after == "Fm-3m (225)"
    a = relaxed.cell.cellpar()[0] * np.sqrt(2)  # conventional lattice parameter from the fcc primitive cell
    # independent: a parabola through E(a) around the relaxed value has its minimum there
    grid = a + np.linspace(-0.02, 0.02, 5)
    e = [energy(model, bulk("MgO", "rocksalt", a=x)) for x in grid]
    c2, c1, _ = np.polyfit(grid - a, e, 2)
    assert abs(-c1 / (2 * c2)) < 2e-3  # Å
    assert report.energy_change <= 0 and report.max_force_after <= 1e-4
    np.testing.assert_allclose(report.cell_before[3:], report.cell_after[3:], atol=1e-8)  # angles kept


def test_position_relaxation_keeps_the_cell_and_symmetry(model):
    start = bulk("MgO", "wurtzite", a=3.3, c=5.2)  # u is free along c: the positions move, the cell does not
    relaxed, report = relax(start, model, fmax=1e-4)
    assert report.converged and not report.moved_cell
    np.testing.assert_allclose(relaxed.cell[:], start.cell[:], atol=1e-12)
    assert report.space_group_after == report.space_group_before == "P6_3mc (186)"
    assert np.abs(relaxed.positions - start.positions).max() > 1e-3
    check = relaxed.copy()
    check.calc = pf.Calculator(model)
    assert np.linalg.norm(check.get_forces(), axis=1).max() <= 1e-4


@pytest.mark.slow  # two relaxations and phonon runs; in CI's slow tier
def test_phonons_relax_and_report_imaginary_modes(model, tmp_path):
    """Stretched by 5 %, this crystal has imaginary modes (checked against the band frequencies);
    relaxed first, it has none, and only the unrelaxed run warns."""
    atoms = bulk("MgO", "rocksalt", a=4.6)
    for relax_cell in (False, True):
        ph = pf.Phonons(atoms, model, relax_cell=relax_cell)
        bands = ph.band_structure(npoints=40)
        found = ph.imaginary_modes(bands)
        lowest = bands.frequencies.min(axis=1)
        distinct = {tuple(np.round(q, 6)): f for q, f in zip(bands.qpoints, lowest) if f < -0.05}
        assert [f for _, f in found] == sorted(distinct.values())
        assert bool(found) == (not relax_cell)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lines = []
            ph.write(tmp_path / str(relax_cell), npoints=40, mesh=(4, 4, 4), formats=("png",), log=lines.append)
        assert any("imaginary modes" in str(w.message) for w in caught) == (not relax_cell)
        assert any(line.startswith("warning: imaginary modes") for line in lines) == (not relax_cell)
    assert ph.relax_report.converged and not np.allclose(ph.atoms.cell[:], atoms.cell[:])
