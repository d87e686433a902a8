"""Finite-difference Hessians of any ASE calculator: the baseline that exact (autodiff) Hessians
are compared with (``benchmarks/bench_vibrations.py``). Units: Å, eV/Å, eV/Å²."""

from __future__ import annotations

import numpy as np


def finite_difference_hessian(atoms, calc, step: float = 1e-3) -> np.ndarray:
    """(3N, 3N) eV/Å² by central differences of the forces of an ASE calculator (6N force calls,
    displacements of ±``step`` Å), symmetrised."""
    atoms = atoms.copy()
    atoms.calc = calc
    x0 = atoms.get_positions()
    h = np.empty((3 * len(atoms), 3 * len(atoms)))
    for k in range(3 * len(atoms)):
        f = []
        for sign in (1, -1):
            x = x0.copy()
            x.flat[k] += sign * step
            atoms.set_positions(x)
            f.append(atoms.get_forces().ravel())
        h[k] = -(f[0] - f[1]) / (2 * step)
    return 0.5 * (h + h.T)
