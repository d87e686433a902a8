"""Irreps of crystal phonons through phonopy, IR/Raman activity at Γ."""

import numpy as np
import pytest

import phonax_fast as pf
from phonax_fast.interop.finite_displacements import phonopy_finite_displacements
from phonax_fast.vibrations.crystal_irreps import crystal_irreps
from structures import random_nequip, silicon


@pytest.fixture(scope="module")
def si_phonopy():
    """Diamond Si with force constants from phonopy's finite displacements of a random NequIP (ASE calculator)."""
    calc = pf.Calculator(random_nequip(["Si"], cutoff=3.0, num_layers=1, lmax=1, channels=4))
    return phonopy_finite_displacements(silicon(), calc, (2, 2, 2), plusminus=False)


def test_silicon_gamma(si_phonopy):
    result = crystal_irreps(si_phonopy)
    assert result.point_group == "m-3m"
    optical = ~result.acoustic
    assert optical.sum() == 3 and result.acoustic.sum() == 3
    assert {result.labels[i] for i in np.where(optical)[0]} == {"T2g"}
    assert {result.labels[i] for i in np.where(result.acoustic)[0]} == {"T1u"}
    assert result.raman_active[optical].all() and not result.ir_active[optical].any()
    assert not (result.ir_active | result.raman_active)[result.acoustic].any()
    f = result.frequencies[optical]
    assert np.ptp(f) < 1e-6


def test_silicon_x_point(si_phonopy):
    result = crystal_irreps(si_phonopy, q=(0.5, 0.0, 0.5))
    assert result.ir_active is None and result.raman_active is None
    assert [len(s) for s in result.degenerate_sets] == [2, 2, 2]  # all bands pair up at X
    np.testing.assert_allclose(result.characters[:, 0].real, 2.0)


def test_bad_q(si_phonopy):
    with pytest.raises(ValueError, match="three finite"):
        crystal_irreps(si_phonopy, q=(0.0, np.nan, 0.0))


def test_phonons_irreps_at_gamma_from_exact_force_constants():
    """``Phonons.irreps`` folds our force constants onto a commensurate supercell with symmetry."""
    ph = pf.Phonons(silicon(), random_nequip(["Si"], cutoff=3.0, num_layers=1, lmax=1, channels=4))
    result = ph.irreps()
    optical = ~result.acoustic
    assert {result.labels[i] for i in np.where(optical)[0]} == {"T2g"}
    assert all(result.raman_active[optical]) and not any(result.ir_active[optical])
