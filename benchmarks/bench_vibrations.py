"""Molecular vibrations: exact Hessian (forward-over-reverse) vs central differences of forces.

Run: ``python -m pytest benchmarks/bench_vibrations.py --benchmark-columns=min,mean,rounds``.
Times are warm (JAX compilation done in a first, untimed call): what a user analysing many
conformers of one molecule sees. The symmetry analysis (point group, irreps) is timed on its own.
"""

import numpy as np
import pytest
from ase.build import molecule

import phonax_fast as pf
from phonax_fast.vibrations import Vibrations

MOLECULES = ["CH3CH2OH", "C6H6"]


def model_for(atoms):
    species = sorted(set(atoms.get_chemical_symbols()))
    return pf.models.NequIP.init(species, cutoff=4.0, num_layers=2, lmax=2, channels=8, seed=0)


def fd_hessian(atoms, calc, step=1e-3):
    """(3N, 3N) by central differences of forces: 6N force calls."""
    atoms = atoms.copy()
    atoms.calc = calc
    x0 = atoms.get_positions()
    rows = []
    for k in range(x0.size):
        f = []
        for sign in (1, -1):
            x = x0.copy()
            x.flat[k] += sign * step
            atoms.set_positions(x)
            f.append(atoms.get_forces().ravel())
        rows.append(-(f[0] - f[1]) / (2 * step))
    return np.array(rows)


@pytest.mark.parametrize("name", MOLECULES)
def test_exact_hessian(benchmark, name):
    atoms = molecule(name)
    model = model_for(atoms)
    pf.forceconstants.molecular_hessian(atoms, model)  # compile
    benchmark.pedantic(pf.forceconstants.molecular_hessian, args=(atoms, model), rounds=3, iterations=1)


@pytest.mark.parametrize("name", MOLECULES)
def test_finite_difference_hessian(benchmark, name):
    atoms = molecule(name)
    calc = pf.Calculator(model_for(atoms))
    fd_hessian(atoms, calc, 1e-3)  # compile
    benchmark.pedantic(fd_hessian, args=(atoms, calc), rounds=3, iterations=1)


@pytest.mark.parametrize("name", MOLECULES)
def test_symmetry_analysis(benchmark, name):
    atoms = molecule(name)
    hessian = fd_hessian(atoms, pf.Calculator(model_for(atoms)))
    benchmark.pedantic(lambda: Vibrations(atoms, hessian=hessian), rounds=3, iterations=1)
