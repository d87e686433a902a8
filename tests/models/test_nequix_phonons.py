"""Phonons of a real universal model against an independent reference: our force constants of the
bundled nequix-mp-1-pft (supercell construction) against phonopy's finite displacements through
nequix's own ASE calculator on the published checkpoint, on the same supercell.

Tolerance: 0.02 THz (the acceptance bound). nequix's calculator works in float32, so its forces
carry ~1e-5 eV/Å of round-off; central differences of ±0.003 Å turn that into ~2e-3 eV/Å² in
the force constants, and the O(step²) truncation adds ~1e-4 relative: a few 1e-3 THz in all.
"""

from pathlib import Path

import jax
import numpy as np
import pytest
from ase.build import bulk

import phonax_fast as pf
from phonax_fast.forceconstants import supercell_force_constants
from phonax_fast.interop.finite_displacements import phonopy_finite_displacements
from reference_data import phonopy_sdist

NQX = Path(__file__).resolve().parents[3] / "shared/models/nequix/nequix-mp-1-pft.nqx"


def corundum():
    """Al2O3, the 30-atom hexagonal cell of phonopy's DFT example."""
    from phonax_fast.interop import read_structure

    return read_structure(str(phonopy_sdist() / "example/Al2O3/POSCAR-unitcell"))


CASES = {
    "Si": (lambda: bulk("Si", "diamond", a=5.43), (3, 3, 3)),
    "NaCl": (lambda: bulk("NaCl", "rocksalt", a=5.64), (3, 3, 3)),
    "Al2O3-30": (corundum, (1, 1, 1)),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.reference) if n == "Al2O3-30" else n
                                  for n in sorted(CASES)])
def test_force_constants_equal_finite_displacements_through_nequix(name):
    calculator_module = pytest.importorskip("nequix.calculator")
    if not NQX.exists():
        pytest.skip(f"no checkpoint at {NQX}")
    make, dims = CASES[name]
    atoms = make()
    model = pf.models.load("nequix-mp-1-pft")
    ours, _ = supercell_force_constants(atoms, model, dims)
    with jax.enable_x64(False):  # nequix as users run it: float32, the checkpoint's dtype
        calculator = calculator_module.NequixCalculator(model_path=str(NQX), use_kernel=False)
        phonon = phonopy_finite_displacements(atoms, calculator, dims, distance=0.003)
    q = np.random.default_rng(2).uniform(-0.5, 0.5, size=(5, 3))
    phonon.run_qpoints(q)
    difference = np.abs(ours.frequencies(q) - phonon.qpoints.frequencies).max()
    print(f"{name}: max |Δf| = {difference:.2e} THz")
    assert difference <= 0.02
