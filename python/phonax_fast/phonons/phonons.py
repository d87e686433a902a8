"""``Phonons``: the one object users talk to for a crystal (structure → force constants → results)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
from ase import Atoms

from ..forceconstants.crystal import crystal_force_constants
from ..graphs.validation import require_crystal
from ..harmonic.force_constants import ForceConstants
from ..harmonic.symmetry import primitive_cell
from ..interop.files import write_band_yaml, write_force_constants, write_phonopy_params, write_total_dos
from ..interop.nac import read_born, with_nac, write_born
from ..interop.phonopy_export import to_phonopy
from ..interop.phonopy_import import force_constants_from_phonopy
from ..plotting import plot_band_structure, plot_dos, save_figure
from ..qgrid import mesh_dos, mesh_projected_dos, mesh_thermal_properties
from ..units import convert_frequency
from ..vibrations.crystal_irreps import crystal_irreps
from .bands import BandStructure, band_path, gamma_directions, path_distances


class Phonons:
    """Phonons of a periodic crystal from an energy model (or from given force constants).

    Force constants are computed on first use, exactly (no supercell, no finite differences),
    by forward-over-reverse Hessian-vector products on an extended cluster.

    Args:
        atoms: the unit cell, periodic in all three directions (Å).
        model: a phonax_fast energy model.
        construction: ``"auto"``, ``"masked"`` or ``"paper"`` (see ``forceconstants.crystal``).
        block_size: Hessian-vector products per batch (default from a memory estimate).
        primitive: reduce a conventional cell or supercell to its primitive cell first (spglib,
            as phonopy's ``primitive_matrix="auto"``), so bands are not folded; q-points are then in
            reduced coordinates of ``self.atoms.cell``, the primitive cell (the CLI does this by
            default). ``False`` (default) keeps the cell as given, with a warning when it is not
            primitive (its bands are those of the folded zone). ``reduced_from`` holds the number
            of atoms given when a reduction happened.
    """

    def __init__(self, atoms: Atoms, model, *, construction: str = "auto", block_size: int | None = None,
                 primitive: bool = False):
        require_crystal(atoms, model.species, context="Phonons")
        self.reduced_from = None
        found = primitive_cell(atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers)
        if found is not None and primitive:
            cell, positions, numbers, index = found
            self.reduced_from = len(atoms)
            atoms = Atoms(numbers=numbers, scaled_positions=positions, cell=cell, pbc=True,
                          masses=atoms.get_masses()[index])
        elif found is not None:
            warnings.warn(f"the {len(atoms)}-atom cell is a supercell of a {len(found[2])}-atom primitive cell: its "
                          "bands are folded; Phonons(..., primitive=True) reduces it first", stacklevel=2)
        self.atoms = atoms.copy()
        self.model = model
        self.construction = construction
        self.block_size = block_size
        self._fcs: ForceConstants | None = None

    @classmethod
    def from_force_constants(cls, fcs: ForceConstants) -> "Phonons":
        """Phonons from existing compact force constants (no model)."""
        self = cls.__new__(cls)
        self.atoms = Atoms(numbers=fcs.numbers, scaled_positions=fcs.scaled_positions, cell=fcs.cell, masses=fcs.masses, pbc=True)
        self.model, self.construction, self.block_size = None, "given", None
        self.reduced_from, self._fcs = None, fcs
        return self

    @classmethod
    def from_phonopy(cls, phonon) -> "Phonons":
        """Phonons from a ``phonopy.Phonopy`` with force constants (its primitive cell is used),
        with its non-analytic correction (``nac_params``: a BORN file) if it has one."""
        return cls.from_force_constants(force_constants_from_phonopy(phonon))

    # -- non-analytic correction -----------------------------------------------------------
    def set_nac(self, born=None, epsilon=None, method: str = "gonze", *, born_file=None, factor=None,
                supercell=None) -> "Phonons":
        """Add the non-analytic correction (LO–TO splitting) of polar crystals; returns ``self``.

        Give ``born`` (N, 3, 3) Born effective charges in e (phonopy's convention) and ``epsilon``
        (3, 3) ε∞, or ``born_file``, a phonopy BORN file for this cell. The charges are
        symmetrised and made neutral as phonopy does (``nac.charge_residual`` reports how far
        they were from Σ Z* = 0). ``method``: ``"gonze"`` (Gonze–Lee Ewald sum, phonopy's
        default) or ``"wang"``. ``factor``: unit conversion in eV·Å (default phonopy's, or the
        BORN file's). ``supercell``: the supercell the correction refers to (see
        ``interop.with_nac``; default the smallest that holds the force constants exactly).
        Every later frequency, band, mesh property and phonopy export includes it.
        """
        if born_file is not None:
            if born is not None or epsilon is not None:
                raise ValueError("give either born and epsilon or born_file, not both")
            params = read_born(born_file, self.atoms.cell[:], self.atoms.get_scaled_positions(), self.atoms.numbers)
            born, epsilon, factor = params["born"], params["epsilon"], factor or params["factor"]
        elif born is None or epsilon is None:
            raise ValueError("set_nac needs Born charges and the dielectric tensor (born, epsilon) or a born_file")
        self._fcs = with_nac(self.fcs, born, epsilon, method=method, factor=factor, supercell=supercell)
        return self

    @property
    def nac(self):
        """The non-analytic correction (``harmonic.nac.NonAnalyticCorrection``) or None."""
        return self.fcs.nac

    # -- force constants -------------------------------------------------------------------
    @property
    def fcs(self) -> ForceConstants:
        """The compact force constants (computed on first access)."""
        if self._fcs is None:
            self._fcs, self.construction = crystal_force_constants(
                self.atoms, self.model, self.construction, self.block_size, check=False
            )
        return self._fcs

    @property
    def force_constants(self) -> np.ndarray:
        """(N, N_L·N, 3, 3) eV/Å²: ``[i, l·N + j]`` couples atom i (cell 0) with atom j in cell ``translations[l]``."""
        return self.fcs.fc

    @property
    def translations(self) -> np.ndarray:
        """(N_L, 3) int lattice translations of the force-constant columns."""
        return self.fcs.translations

    def acoustic_sum_residual(self) -> float:
        """max |Σ_b Φ(iα, bβ)| in eV/Å² (zero for an exactly translation-invariant model)."""
        return self.fcs.acoustic_sum_residual()

    # -- frequencies and bands -------------------------------------------------------------
    def frequencies(self, qpoints, unit: str = "THz", q_direction=None) -> np.ndarray:
        """(n_q, 3N) frequencies at reduced q-points, ascending; imaginary modes negative.

        ``q_direction``: (3,) or (n_q, 3) reduced direction along which q approaches Γ, for the
        non-analytic correction at Γ (without it Γ gets the analytic part only, as in phonopy).
        """
        return convert_frequency(self.fcs.frequencies(_qpoints(qpoints), q_direction=q_direction), unit)

    def eigensystem(self, qpoints, unit: str = "THz", q_direction=None):
        """(frequencies (n_q, 3N), eigenvectors (n_q, 3N, 3N) with modes as columns, phonopy's convention)."""
        f, v = self.fcs.eigensystem(_qpoints(qpoints), q_direction=q_direction)
        return convert_frequency(f, unit), v

    def band_structure(self, npoints: int = 101, path=None, labels=None, unit: str = "THz") -> BandStructure:
        """Frequencies along seekpath's path for this structure (or ``path``: list of (start, end) reduced q)."""
        fcs = self.fcs
        bp = band_path(fcs.cell, fcs.scaled_positions, fcs.numbers, npoints, path, labels)
        q = bp.qpoints
        freqs = self.frequencies(q, unit, q_direction=gamma_directions(bp, fcs.cell) if fcs.nac is not None else None)
        return BandStructure(q, path_distances(bp, fcs.cell), freqs, bp, unit)

    # -- mesh properties (q-grid engine) ---------------------------------------------------
    def dos(self, mesh=(20, 20, 20), method: str = "tetrahedron", sigma: float | None = None, **kwargs):
        """(frequencies THz, DOS states/THz/cell) on a Γ-centred ``mesh``; see ``qgrid.mesh_dos``."""
        return mesh_dos(self.fcs, mesh, method=method, sigma=sigma, **kwargs)

    def projected_dos(self, mesh=(20, 20, 20), method: str = "tetrahedron", sigma: float | None = None, **kwargs):
        """Projected DOS on a mesh; see ``qgrid.mesh_projected_dos``."""
        return mesh_projected_dos(self.fcs, mesh, method=method, sigma=sigma, **kwargs)

    def thermal_properties(self, temperatures, mesh=(20, 20, 20), **kwargs) -> dict:
        """Free energy (kJ/mol), entropy and heat capacity (J/K/mol) per unit cell; see ``qgrid``."""
        return mesh_thermal_properties(self.fcs, mesh, np.atleast_1d(temperatures), **kwargs)

    # -- interoperability ------------------------------------------------------------------
    def to_phonopy(self, supercell_dims=None, tolerance: float = 1e-10, symmetry: bool = False):
        """``phonopy.Phonopy`` holding these force constants; see ``interop.to_phonopy``."""
        return to_phonopy(self.fcs, supercell_dims, tolerance, symmetry)

    def irreps(self, q=(0.0, 0.0, 0.0), q_direction=None):
        """Irreducible representations of the modes at ``q`` (IR/Raman activity at Γ), via phonopy.

        The force constants are folded onto the smallest supercell commensurate with ``q``, which
        gives phonopy the exact dynamical matrix at ``q`` with the crystal's full symmetry. With a
        non-analytic correction, ``q_direction`` (reduced) gives the LO–TO split modes at Γ along
        it (their value at Γ does not depend on the supercell).
        """
        q = np.asarray(q, dtype=float)
        dims = [next(n for n in range(1, 25) if abs(n * x - round(n * x)) < 1e-8) for x in q]
        return crystal_irreps(self.to_phonopy(supercell_dims=dims, symmetry=True), q, q_direction=q_direction)

    def write(self, out_dir, npoints: int = 101, mesh=(20, 20, 20), formats=("png", "pdf"), log=None) -> dict:
        """Write band and DOS plots and phonopy files (BORN too with a non-analytic correction)
        into ``out_dir``; returns {name: path}. ``log``: called with one line per finished stage
        (e.g. ``print``), or None."""
        out = Path(out_dir)
        say = log or (lambda line: None)
        start = time.perf_counter()
        bands = self.band_structure(npoints)
        say(f"band structure: {len(bands.qpoints)} q-points along {len(bands.path.segments)} segments, "
            f"{time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        freqs, dos = self.dos(mesh)
        say(f"DOS: tetrahedron method on a {'×'.join(map(str, np.broadcast_to(mesh, (3,))))} mesh, "
            f"{time.perf_counter() - start:.1f} s")
        phonon = self.to_phonopy()
        title = self.atoms.get_chemical_formula()
        if self.model is not None:
            title += f", {self.model.model_name} model ({' '.join(self.model.species)})"
        if self.fcs.nac is not None:
            title += f" (LO–TO splitting: {self.fcs.nac.method} NAC)"
        written = {}
        for fmt in formats:
            written[f"bands.{fmt}"] = out / f"bands.{fmt}"
            save_figure(plot_band_structure(bands, (freqs, dos), title), written[f"bands.{fmt}"])
            written[f"dos.{fmt}"] = out / f"dos.{fmt}"
            save_figure(plot_dos(freqs, dos, title=title), written[f"dos.{fmt}"])
        files = [
            ("band.yaml", lambda p: write_band_yaml(phonon, bands, p)),
            ("total_dos.dat", lambda p: write_total_dos(freqs, dos, p)),
            ("phonopy_params.yaml", lambda p: write_phonopy_params(phonon, p)),
            ("FORCE_CONSTANTS", lambda p: write_force_constants(phonon, p)),
        ]
        if self.fcs.nac is not None:  # phonopy_params.yaml holds nac_params too
            files.append(("BORN", lambda p: write_born(self.fcs, p)))
        for name, writer in files:
            written[name] = out / name
            writer(written[name])
        return written


def _qpoints(qpoints) -> np.ndarray:
    """q-points as an (n_q, 3) float array, or a ValueError naming what is wrong."""
    q = np.asarray(qpoints, dtype=float)
    q = q.reshape(1, 3) if q.shape == (3,) else q
    if q.ndim != 2 or q.shape[1] != 3:
        raise ValueError(f"q-points must be (3,) or (n_q, 3) reduced coordinates; got shape {np.shape(qpoints)}")
    if not np.isfinite(q).all():
        raise ValueError("q-points must be finite (no NaN or inf)")
    return q
