"""Force constants: masked 2L construction (with and without symmetry) vs the paper's L construction
vs phonopy finite displacements (with symmetry, ±0.01 Å) through the ASE calculator.

Run: ``python -m pytest benchmarks/bench_force_constants.py --benchmark-columns=min,mean,rounds``
(one round each; times include JAX compilation, as a user running one structure would see).
The session's results table (``record``, benchmarks/conftest.py) gives each method's time over the
masked 2L construction's.
"""

import time

import pytest
from ase import Atoms
from ase.build import bulk

import phonax_fast as pf
from phonax_fast.interop.finite_displacements import phonopy_finite_displacements

def model():
    return pf.models.NequIP.init(["Si"], cutoff=4.0, num_layers=2, lmax=2, channels=8, seed=0)


def si_cell(n_atoms: int) -> Atoms:
    prim = bulk("Si", "diamond", a=5.43)
    if n_atoms == 2:
        return prim
    return bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 2, 2))  # 64 atoms


METHODS = ("masked", "masked-nosym", "paper", "phonopy-fd")
CASES = [(m, n) for n in (2, 64) for m in METHODS]


@pytest.mark.parametrize("method,n_atoms", CASES, ids=[f"{m}-Si{n}" for m, n in CASES])
def test_force_constants(benchmark, record, method, n_atoms):
    atoms, m = si_cell(n_atoms), model()
    if method == "phonopy-fd":
        dims = (5, 5, 5) if n_atoms == 2 else (2, 2, 2)
        run = lambda: phonopy_finite_displacements(atoms, pf.Calculator(m), dims)  # noqa: E731
    else:
        construction, _, nosym = method.partition("-")
        run = lambda: pf.forceconstants.crystal_force_constants(atoms, m, construction, use_symmetry=not nosym)  # noqa: E731
    t0 = time.perf_counter()
    benchmark.pedantic(run, rounds=1, iterations=1)
    record(f"force constants Si{n_atoms} (1 round, compilation incl.)", method, time.perf_counter() - t0,
           baseline="masked")
