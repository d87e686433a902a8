"""Relaxation with a model before phonons: positions and, on request, the cell, keeping the space group.

Phonons are harmonic expansions around a minimum of the model's energy; at any other geometry
the forces are not zero and soft modes turn imaginary. As phonopy users with ML potentials do,
the structure is relaxed with the model first: ASE's BFGS on the positions, with ``FixSymmetry``
(forces and stress symmetrised, so the space group found at the start is kept) and, with
``cell=True``, ``FrechetCellFilter`` (cell and positions together, at zero pressure).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
import spglib
from ase import Atoms
from ase.constraints import FixSymmetry
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS

from .calculator import Calculator
from .graphs.validation import require_crystal


@dataclass(frozen=True)
class RelaxReport:
    """What a relaxation did.

    Attributes:
        converged: whether the largest force (and stress, with the cell) fell below ``fmax``.
        steps: optimiser steps taken.
        fmax: the convergence threshold, eV/Å (stress: eV/Å³ × the cell filter's scale).
        max_force_before, max_force_after: largest atomic force, eV/Å.
        energy_change: E_after − E_before, eV per cell.
        cell_before, cell_after: lattice parameters (a, b, c in Å; α, β, γ in degrees).
        space_group_before, space_group_after: spglib's international symbol and number.
        moved_cell: whether the cell was relaxed.
    """

    converged: bool
    steps: int
    fmax: float
    max_force_before: float
    max_force_after: float
    energy_change: float
    cell_before: np.ndarray
    cell_after: np.ndarray
    space_group_before: str
    space_group_after: str
    moved_cell: bool

    def summary(self) -> str:
        """A few lines for logs: convergence, forces, lattice parameters before and after."""
        state = "converged" if self.converged else "NOT converged"
        lines = [f"relaxation {state} in {self.steps} steps (fmax {self.fmax:g} eV/Å): largest force "
                 f"{self.max_force_before:.2e} → {self.max_force_after:.2e} eV/Å, energy change {self.energy_change:+.4f} eV"]
        if self.moved_cell:
            a, b = self.cell_before, self.cell_after
            lines.append("lattice a, b, c (Å): " + ", ".join(f"{x:.4f} → {y:.4f}" for x, y in zip(a[:3], b[:3]))
                         + f"; α, β, γ (°): " + ", ".join(f"{x:.2f} → {y:.2f}" for x, y in zip(a[3:], b[3:]))
                         + f"; volume {100 * (_volume(b) / _volume(a) - 1):+.2f} %")
        lines.append(f"space group {self.space_group_before} → {self.space_group_after}")
        return "\n".join(lines)


def _volume(parameters) -> float:
    from ase.geometry import cellpar_to_cell

    return abs(np.linalg.det(cellpar_to_cell(parameters)))


def _space_group(atoms: Atoms, symprec: float) -> str:
    found = spglib.get_spacegroup((atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers), symprec=symprec)
    return found or "P1 (1)"


def relax(atoms: Atoms, model, cell: bool = False, fmax: float = 1e-3, steps: int = 500,
          symprec: float = 1e-5) -> tuple[Atoms, RelaxReport]:
    """A relaxed copy of the crystal ``atoms`` under ``model`` and what the relaxation did.

    Args:
        atoms: periodic crystal, Å (not modified).
        model: energy model.
        cell: relax the cell too (zero pressure), not only the positions.
        fmax: convergence threshold on the largest force, eV/Å (and on the stress, through the
            cell filter, with ``cell``).
        steps: at most this many optimiser steps.
        symprec: spglib tolerance (Å) of the space group that is kept.
    Returns:
        (relaxed Atoms without calculator or constraints, RelaxReport).
    """
    require_crystal(atoms, model.species, context="relaxation")
    work = atoms.copy()
    work.calc = Calculator(model)
    before_group = _space_group(work, symprec)
    before_cell = work.cell.cellpar()
    energy_before = work.get_potential_energy()
    force_before = float(np.linalg.norm(work.get_forces(), axis=1).max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # FixSymmetry's notes on refined symmetry
        work.set_constraint(FixSymmetry(work, symprec=symprec))
    target = FrechetCellFilter(work) if cell else work
    with contextlib.redirect_stdout(io.StringIO()):
        optimizer = BFGS(target, logfile=None)
        converged = bool(optimizer.run(fmax=fmax, steps=steps))
    result = Atoms(numbers=work.numbers, positions=work.positions, cell=work.cell, pbc=True, masses=work.get_masses())
    result.calc = Calculator(model)
    report = RelaxReport(
        converged=converged, steps=int(optimizer.nsteps), fmax=fmax, max_force_before=force_before,
        max_force_after=float(np.linalg.norm(result.get_forces(), axis=1).max()),
        energy_change=float(result.get_potential_energy() - energy_before), cell_before=before_cell,
        cell_after=result.cell.cellpar(), space_group_before=before_group,
        space_group_after=_space_group(result, symprec), moved_cell=cell)
    result.calc = None
    return result, report
