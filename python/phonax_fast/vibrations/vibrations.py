"""Vibrational analysis of a molecule: frequencies, normal modes, irreps and IR/Raman activity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ase import Atoms

from ..dielectric import field_response
from ..forceconstants.molecule import molecular_hessian
from ..graphs.neighbors import periodic_graph
from ..graphs.validation import require_molecule
from ..fileio import atomic_write
from ..units import CM1_PER_THZ, EV_PER_CM1, convert_frequency
from .intensities import ModeIntensities, lorentzian_spectrum, mode_intensities
from .normal_modes import normal_modes
from .point_group import find_point_group
from .symmetry import analyse


class Vibrations:
    """Harmonic vibrations of an isolated molecule.

    ``Vibrations(atoms, model)`` takes the exact Hessian of ``model`` (forward-over-reverse,
    :func:`~phonax_fast.forceconstants.molecular_hessian`); ``Vibrations(atoms, hessian=H)``
    analyses a given (3N, 3N) Hessian in eV/Å² instead. Translations and rotations are projected
    out (Eckart frame; 5 rigid-body modes for a linear molecule, 6 otherwise). Everything is
    computed on construction.

    Attributes (N atoms, 3N modes in ascending frequency):
        atoms: a copy of the structure.
        hessian: (3N, 3N) Cartesian Hessian in eV/Å².
        eigenvalues: (3N,) of the projected mass-weighted Hessian, in eV/(Å²·amu).
        frequencies_cm1: (3N,) in cm⁻¹; imaginary frequencies are negative.
        zero_modes: (3N,) bool, True for the projected-out translations and rotations.
        modes: (3N, N, 3) Cartesian displacement patterns, each normalised to unit length.
        mass_weighted_modes: (3N, 3N) orthonormal eigenvectors of the mass-weighted Hessian (rows).
        reduced_masses: (3N,) in amu, 1/Σ_i |e_i|²/m_i for the mass-weighted eigenvector e.
        zero_point_energy: Σ hν/2 over real vibrational frequencies, in eV.
        symmetry: the :class:`PointGroup`; ``point_group`` its Schoenflies symbol.
        irreps: Mulliken label per mode (None for zero modes, "?" where symmetry is broken).
        ir_active, raman_active: (3N,) bool selection rules from the character table.
        degenerate_sets: lists of mode indices that span one irrep each.
        intensities: a :class:`~phonax_fast.vibrations.intensities.ModeIntensities` (dμ/dQ, dα/dQ,
            IR, Raman, depolarisation) when the model is a field model (``field_order`` ≥ 1, e.g.
            :class:`~phonax_fast.models.FieldNequIP`; dP/dx and dα/dx at zero field from
            :func:`phonax_fast.dielectric.field_response`) or dipole derivatives are given; else None.
        ir_intensities: (3N,) km/mol, NaN for zero modes; None without intensities.
        raman_activities: (3N,) Å⁴/amu (45a'² + 7γ'²), NaN for zero modes; None without dα/dx.
        depolarization_ratios: (3N,) 3γ'²/(45a'² + 4γ'²) for linearly polarised light, NaN for zero
            and Raman-inactive modes; None without dα/dx.

    Args:
        symmetry_tolerance: Å; atoms this close to the image of a like atom count as symmetric.
        degeneracy_tolerance: cm⁻¹; vibrations this close are analysed as one degenerate set.
        block_size: Hessian-vector products per batch when a model is given.
        dipole_derivatives: (N, 3, 3) dP/dx [i, β, α] in e, only with ``hessian`` (a field model's
            are computed).
        polarizability_derivatives: (N, 3, 3, 3) dα/dx [i, β, α, γ] in e·Å/V, only with ``hessian``
            and ``dipole_derivatives``.
    """

    def __init__(
        self,
        atoms: Atoms,
        model=None,
        *,
        hessian=None,
        symmetry_tolerance: float = 0.01,
        degeneracy_tolerance: float = 0.05,
        block_size: int | None = None,
        dipole_derivatives=None,
        polarizability_derivatives=None,
    ):
        if (model is None) == (hessian is None):
            raise ValueError("give either a model or a hessian")
        if model is not None and (dipole_derivatives is not None or polarizability_derivatives is not None):
            raise ValueError("dipole/polarizability derivatives go with a given hessian; a field model's are computed")
        if dipole_derivatives is None and polarizability_derivatives is not None:
            raise ValueError("polarizability derivatives need the dipole derivatives too")
        require_molecule(atoms, model.species if model is not None else None, context="Vibrations")
        if len(atoms) < 2:
            raise ValueError("a single atom has no vibrations")
        self.atoms = atoms.copy()
        self.atoms.calc = None
        self.hessian = molecular_hessian(atoms, model, block_size, check=False) if model is not None else np.asarray(hessian, dtype=float)
        masses = atoms.get_masses()
        positions = atoms.get_positions()
        self.symmetry = find_point_group(atoms.numbers, positions, masses, symmetry_tolerance)
        result = analyse(self.symmetry, normal_modes(self.hessian, positions, masses), degeneracy_tolerance)
        modes = result.modes
        self.eigenvalues = modes.eigenvalues
        self.frequencies_cm1 = modes.frequencies_cm1
        self.zero_modes = modes.rigid
        self.mass_weighted_modes = modes.vectors.T.copy()
        cartesian = self.mass_weighted_modes / np.repeat(np.sqrt(masses), 3)[None, :]
        norm2 = np.sum(cartesian**2, axis=1)
        self.reduced_masses = 1 / norm2
        self.modes = (cartesian / np.sqrt(norm2)[:, None]).reshape(-1, len(atoms), 3)
        self.irreps = result.labels
        self.ir_active = result.ir_active
        self.raman_active = result.raman_active
        self.degenerate_sets = result.degenerate_sets
        if model is not None and getattr(model, "field_order", 0) >= 1:
            response = field_response(model, periodic_graph(atoms, model.cutoff, model.species), None, order=2)
            dipole_derivatives = np.asarray(response.dipole_derivatives)
            polarizability_derivatives = np.asarray(response.polarizability_derivatives)
        self.intensities: ModeIntensities | None = None
        if dipole_derivatives is not None:
            self.intensities = mode_intensities(self.mass_weighted_modes, masses, dipole_derivatives,
                                                polarizability_derivatives, self.zero_modes)

    @property
    def point_group(self) -> str:
        """Schoenflies symbol of the molecule's point group."""
        return self.symmetry.name

    @property
    def zero_point_energy(self) -> float:
        """Σ hν/2 over the real (positive) vibrational frequencies, in eV."""
        nu = self.frequencies_cm1[~self.zero_modes]
        return 0.5 * float(np.sum(nu[nu > 0])) * EV_PER_CM1

    @property
    def ir_intensities(self) -> np.ndarray | None:
        """(3N,) IR intensities in km/mol (NaN for zero modes), or None without a field model."""
        return None if self.intensities is None else self.intensities.ir

    @property
    def raman_activities(self) -> np.ndarray | None:
        """(3N,) Raman activities 45a'² + 7γ'² in Å⁴/amu (NaN for zero modes), or None."""
        return None if self.intensities is None else self.intensities.raman

    @property
    def depolarization_ratios(self) -> np.ndarray | None:
        """(3N,) depolarisation ratios (linearly polarised light; NaN for zero and Raman-inactive modes), or None."""
        return None if self.intensities is None else self.intensities.depolarization

    def spectra(self, fwhm: float = 10.0, grid=None, points: int = 2000):
        """Lorentzian-broadened IR and Raman spectra: (grid cm⁻¹, IR km/mol per cm⁻¹, Raman Å⁴/amu per
        cm⁻¹ or None), each line with area = its intensity and full width ``fwhm`` cm⁻¹. Default
        grid: ``points`` from 0 (or below the lowest imaginary mode) to 5 FWHM above the highest.
        ValueError without intensities (a model without a field)."""
        if self.intensities is None:
            raise ValueError("no IR/Raman intensities: the model has no electric field (use a field model, e.g. FieldNequIP)")
        nu = self.frequencies_cm1[~self.zero_modes]
        if grid is None:
            lo = min(0.0, float(nu.min()) - 5 * fwhm) if len(nu) else 0.0
            hi = (float(nu.max()) if len(nu) else 0.0) + 5 * fwhm
            grid = np.linspace(lo, hi, points)
        grid = np.asarray(grid, dtype=float)
        ir = lorentzian_spectrum(self.frequencies_cm1, self.ir_intensities, grid, fwhm)
        raman = None if self.raman_activities is None else lorentzian_spectrum(self.frequencies_cm1, self.raman_activities, grid, fwhm)
        return grid, ir, raman

    def frequencies(self, unit: str = "cm-1") -> np.ndarray:
        """(3N,) frequencies in ``unit`` ("THz", "cm-1" or "meV"); imaginary ones negative."""
        return convert_frequency(self.frequencies_cm1 / CM1_PER_THZ, unit)

    def table(self, include_zero_modes: bool = False) -> str:
        """A table as quantum-chemistry programs print it: mode, frequency, irrep, IR, Raman, reduced
        mass, and with intensities the IR intensity (km/mol), Raman activity (Å⁴/amu) and
        depolarisation ratio."""
        ints = self.intensities
        header = (
            f"Point group {self.point_group}; {int(self.zero_modes.sum())} translations/rotations projected out; "
            f"zero-point energy {self.zero_point_energy:.4f} eV"
        )
        lines = [
            header,
            f"{'mode':>5} {'freq (cm-1)':>12}  {'irrep':<6} {'IR':<4} {'Raman':<6} {'red. mass (amu)':>15}"
            + ("" if ints is None else f" {'IR (km/mol)':>12}" + ("" if ints.raman is None else f" {'Raman (A4/amu)':>14} {'depol.':>6}")),
        ]
        for i, nu in enumerate(self.frequencies_cm1):
            if self.zero_modes[i] and not include_zero_modes:
                continue
            freq = f"{abs(nu):11.2f}{'i' if nu < 0 else ' '}"
            label = self.irreps[i] or "rigid"
            ir = "yes" if self.ir_active[i] else "-"
            raman = "yes" if self.raman_active[i] else "-"
            line = f"{i + 1:5d} {freq}  {label:<6} {ir:<4} {raman:<6} {self.reduced_masses[i]:15.4f}"
            if ints is not None:
                line += f" {_number(ints.ir[i], 12, 4)}"
                if ints.raman is not None:
                    line += f" {_number(ints.raman[i], 14, 4)} {_number(ints.depolarization[i], 6, 3)}"
            lines.append(line)
        if any(nu < 0 for nu, z in zip(self.frequencies_cm1, self.zero_modes) if not z):
            lines.append("(i: imaginary frequency, the structure is not at a minimum of the model's energy)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready summary (frequencies in cm⁻¹, masses in amu, energies in eV, positions in Å)."""
        return {
            "symbols": self.atoms.get_chemical_symbols(),
            "positions_angstrom": self.atoms.get_positions().tolist(),
            "point_group": self.point_group,
            "frequencies_cm1": self.frequencies_cm1.tolist(),
            "zero_modes": self.zero_modes.tolist(),
            "irreps": list(self.irreps),
            "ir_active": self.ir_active.tolist(),
            "raman_active": self.raman_active.tolist(),
            "degenerate_sets": self.degenerate_sets,
            "reduced_masses_amu": self.reduced_masses.tolist(),
            "zero_point_energy_eV": self.zero_point_energy,
            "modes": self.modes.tolist(),
            **self._intensities_dict(),
        }

    def _intensities_dict(self) -> dict:
        """The intensities for :meth:`to_dict` (NaN → None): empty without intensities."""
        ints = self.intensities
        if ints is None:
            return {}
        out = {"ir_intensities_km_per_mol": _json_list(ints.ir),
               "dipole_derivatives_e_per_sqrt_amu": ints.dipole_derivatives.tolist()}
        if ints.raman is not None:
            out.update({"raman_activities_angstrom4_per_amu": _json_list(ints.raman),
                        "depolarization_ratios": _json_list(ints.depolarization),
                        "polarizability_derivatives_angstrom2_per_sqrt_amu": ints.polarizability_derivatives.tolist()})
        return out

    def write_json(self, path) -> None:
        """Write :meth:`to_dict` to ``path`` atomically."""
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False)
        atomic_write(Path(path), lambda f: f.write(text.encode()))


def _number(x: float, width: int, decimals: int) -> str:
    """``x`` right-aligned in ``width`` with ``decimals`` places, "-" for NaN."""
    return f"{'-':>{width}}" if not np.isfinite(x) else f"{x:{width}.{decimals}f}"


def _json_list(values: np.ndarray) -> list:
    """``values`` as a list of floats, NaN as None (JSON has no NaN)."""
    return [float(v) if np.isfinite(v) else None for v in values]
