"""Our exact force constants against phonopy's finite displacements through the ASE calculator.

phonopy sees the model only through ``pf.Calculator`` (energies/forces), so this checks the whole
Hessian path independently, on the same supercell (our supercell construction is phonopy's finite
displacements at zero step, so the two differ by the finite-difference error only). Tolerance
1e-3 THz: central differences need a small step here (±0.002 Å; with phonopy's default ±0.01 Å
the O(h²) error of these rough random-weight energies is ~4e-3 THz).
The exact (cluster) constructions differ from a supercell's by the aliasing of force constants
beyond half the supercell; tests/forceconstants/test_force_constants.py compares them at the
commensurate q-points, where there is none.
"""

import numpy as np
import pytest

import phonax_fast as pf
from phonax_fast.interop.finite_displacements import phonopy_finite_displacements
from structures import quaternary, random_nequip, silicon


def compare_band_path(atoms, model, dims):
    ph = pf.Phonons(atoms, model, construction="supercell", supercell=dims)
    bands = ph.band_structure(npoints=24)
    assert len(bands.qpoints) >= 20
    reference = phonopy_finite_displacements(atoms, pf.Calculator(model), dims, distance=0.002)
    reference.run_qpoints(bands.qpoints)
    ref = reference.qpoints.frequencies
    err = np.abs(bands.frequencies - ref).max()
    print(f"max |ω_ours − ω_phonopy-FD| over {len(bands.qpoints)} q-points: {err:.2e} THz")
    assert err <= 1e-3


def test_silicon_matches_phonopy_finite_displacements():
    compare_band_path(silicon(), random_nequip(["Si"], cutoff=4.5, num_layers=3, lmax=2, channels=8), (5, 5, 5))


@pytest.mark.slow
def test_quaternary_matches_phonopy_finite_displacements():
    model = random_nequip(["Na", "K", "Cl", "Br"], cutoff=4.0, num_layers=3, lmax=2, channels=8, seed=3)
    compare_band_path(quaternary(), model, (4, 4, 4))
