"""Molecular vibrations: exact Hessian (forward-over-reverse) vs central differences of forces.

Run: ``python -m pytest benchmarks/bench_vibrations.py --benchmark-columns=min,mean,rounds``.
Times are warm (JAX compilation done in a first, untimed call): what a user analysing many
conformers of one molecule sees. The symmetry analysis (point group, irreps) is timed on its own.
The session's results table (``record``, benchmarks/conftest.py) gives finite differences over
the exact Hessian. Run from the repository root (the finite differences come from ``studies``).
"""

import pytest
from ase.build import molecule

import phonax_fast as pf
from phonax_fast.vibrations import Vibrations
from studies.finite_differences import finite_difference_hessian  # central differences of forces, 6N calls

MOLECULES = ["CH3CH2OH", "C6H6"]


def model_for(atoms):
    species = sorted(set(atoms.get_chemical_symbols()))
    return pf.models.NequIP.init(species, cutoff=4.0, num_layers=2, lmax=2, channels=8, seed=0)


@pytest.mark.parametrize("name", MOLECULES)
def test_exact_hessian(benchmark, record, name):
    atoms = molecule(name)
    model = model_for(atoms)
    pf.forceconstants.molecular_hessian(atoms, model)  # compile
    benchmark.pedantic(pf.forceconstants.molecular_hessian, args=(atoms, model), rounds=3, iterations=1)
    record(f"Hessian of {name} (warm, min)", "exact", benchmark.stats.stats.min, baseline="exact")


@pytest.mark.parametrize("name", MOLECULES)
def test_finite_difference_hessian(benchmark, record, name):
    atoms = molecule(name)
    calc = pf.Calculator(model_for(atoms))
    finite_difference_hessian(atoms, calc, 1e-3)  # compile
    benchmark.pedantic(finite_difference_hessian, args=(atoms, calc), rounds=3, iterations=1)
    record(f"Hessian of {name} (warm, min)", "finite differences", benchmark.stats.stats.min, baseline="exact")


@pytest.mark.parametrize("name", MOLECULES)
def test_symmetry_analysis(benchmark, record, name):
    atoms = molecule(name)
    hessian = finite_difference_hessian(atoms, pf.Calculator(model_for(atoms)))
    benchmark.pedantic(lambda: Vibrations(atoms, hessian=hessian), rounds=3, iterations=1)
    record(f"symmetry analysis of {name} (min)", "Vibrations(hessian=…)", benchmark.stats.stats.min)
