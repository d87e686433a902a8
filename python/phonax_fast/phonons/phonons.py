"""``Phonons``: the one object users talk to for a crystal (structure → force constants → results)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
from ase import Atoms

from ..dielectric import CrystalResponse, crystal_response
from ..fileio import atomic_write
from ..forceconstants.crystal import ForceConstantsReport, crystal_force_constants
from ..graphs.validation import require_crystal
from ..harmonic.force_constants import ForceConstants
from ..graphs.supercell import cell_heights, supercell_for_length
from ..harmonic.symmetry import conventional_matrix, primitive_cell
from ..interop.files import write_band_yaml, write_force_constants, write_phonopy_params, write_total_dos
from ..interop.nac import read_born, with_nac, write_born
from ..interop.phonopy_export import to_phonopy
from ..interop.phonopy_import import force_constants_from_phonopy
from ..relaxation import RelaxReport
from ..relaxation import relax as relax_structure
from ..progress import progress_bar
from ..plotting import plot_band_structure, plot_dos, save_figure
from ..qgrid import mesh_dos, mesh_projected_dos, mesh_thermal_properties
from ..units import convert_frequency
from ..vibrations.crystal_irreps import crystal_irreps
from ..vibrations.gamma_modes import GammaModes, gamma_modes
from .bands import BandStructure, band_path, gamma_directions, path_distances


class Phonons:
    """Phonons of a periodic crystal from an energy model (or from given force constants).

    Force constants are computed on first use from exact forward-over-reverse Hessian-vector
    products (no finite differences): on a periodic supercell (what phonopy's finite displacements
    give at zero step; the construction for deep models), or on an extended cluster with no
    supercell at all (exact real-space force constants; cheap for shallow models).
    ``construction="auto"`` picks by estimated cost and memory; ``report`` says which and why.

    Args:
        atoms: the unit cell, periodic in all three directions (Å).
        model: a phonax_fast energy model.
        construction: ``"auto"``, ``"supercell"``, ``"masked"`` or ``"paper"`` (see
            ``forceconstants.crystal``); after the force constants are computed, the one used.
        block_size: Hessian-vector products per batch (default from a memory estimate).
        supercell: the supercell of the ``"supercell"`` construction, 3 integers or a 3×3 integer
            matrix (rows of ``M @ cell``), as phonopy's ``supercell_matrix``; default the smallest
            at least ``supercell_length`` Å wide (``forceconstants.crystal.DEFAULT_SUPERCELL_LENGTH``).
        primitive: reduce a conventional cell or supercell to its primitive cell first (spglib,
            as phonopy's ``primitive_matrix="auto"``), so bands are not folded; q-points are then in
            reduced coordinates of ``self.atoms.cell``, the primitive cell (the CLI does this by
            default). ``False`` (default) keeps the cell as given, with a warning when it is not
            primitive (its bands are those of the folded zone). ``reduced_from`` holds the number
            of atoms given when a reduction happened.
        relax, relax_cell: relax the positions (and, with ``relax_cell``, the cell too) with the
            model first, keeping the space group (``relaxation.relax``, largest force below
            ``fmax`` eV/Å); ``relax_report`` says what moved.
        model_label: the model's name in plot titles (e.g. its registry name).
    """

    def __init__(self, atoms: Atoms, model, *, construction: str = "auto", block_size: int | None = None,
                 primitive: bool = False, supercell=None, supercell_length: float | None = None,
                 relax: bool = False, relax_cell: bool = False, fmax: float = 1e-3, model_label: str | None = None):
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
        self.relax_report: RelaxReport | None = None
        if relax or relax_cell:
            atoms, self.relax_report = relax_structure(atoms, model, cell=relax_cell, fmax=fmax)
            if not self.relax_report.converged:
                warnings.warn(f"the relaxation did not converge to {fmax:g} eV/Å in {self.relax_report.steps} steps "
                              f"(largest force {self.relax_report.max_force_after:.1e} eV/Å)", stacklevel=2)
        self.atoms = atoms.copy()
        self.model = model
        self.model_label = model_label or (model.model_name + " model")
        self.construction = construction
        self.block_size = block_size
        self.supercell, self.supercell_length = supercell, supercell_length
        self.report: ForceConstantsReport | None = None  # how the force constants were computed
        self._fcs: ForceConstants | None = None
        self._dielectric: CrystalResponse | None = None

    @classmethod
    def from_force_constants(cls, fcs: ForceConstants) -> "Phonons":
        """Phonons from existing compact force constants (no model)."""
        self = cls.__new__(cls)
        self.atoms = Atoms(numbers=fcs.numbers, scaled_positions=fcs.scaled_positions, cell=fcs.cell, masses=fcs.masses, pbc=True)
        self.model, self.construction, self.block_size, self.model_label = None, "given", None, None
        self.supercell = self.supercell_length = self.report = self.relax_report = None
        self.reduced_from, self._fcs, self._dielectric = None, fcs, None
        return self

    @classmethod
    def from_phonopy(cls, phonon) -> "Phonons":
        """Phonons from a ``phonopy.Phonopy`` with force constants (its primitive cell is used),
        with its non-analytic correction (``nac_params``: a BORN file) if it has one."""
        return cls.from_force_constants(force_constants_from_phonopy(phonon))

    # -- non-analytic correction -----------------------------------------------------------
    def set_nac(self, born=None, epsilon=None, method: str = "gonze", *, born_file=None, from_model: bool = False,
                factor=None, supercell=None) -> "Phonons":
        """Add the non-analytic correction (LO–TO splitting) of polar crystals; returns ``self``.

        Give ``born`` (N, 3, 3) Born effective charges in e (phonopy's convention) and ``epsilon``
        (3, 3) ε∞, or ``born_file``, a phonopy BORN file for this cell, or ``from_model=True``: the
        Born charges and ε∞ of the field model itself (:attr:`dielectric`; no DFT needed). The charges are
        symmetrised and made neutral as phonopy does (``nac.charge_residual`` reports how far
        they were from Σ Z* = 0). ``method``: ``"gonze"`` (Gonze–Lee Ewald sum, phonopy's
        default) or ``"wang"``. ``factor``: unit conversion in eV·Å (default phonopy's, or the
        BORN file's). ``supercell``: the supercell the correction refers to (see
        ``interop.with_nac``; default the smallest that holds the force constants exactly).
        Every later frequency, band, mesh property and phonopy export includes it.
        """
        given = [name for name, value in (("born/epsilon", born is not None or epsilon is not None),
                                           ("born_file", born_file is not None), ("from_model", from_model)) if value]
        if len(given) > 1:
            raise ValueError(f"give one source of Born charges and ε∞, not {' and '.join(given)}")
        if from_model:
            born, epsilon = self.dielectric.born_charges, self.dielectric.epsilon
        elif born_file is not None:
            params = read_born(born_file, self.atoms.cell[:], self.atoms.get_scaled_positions(), self.atoms.numbers)
            born, epsilon, factor = params["born"], params["epsilon"], factor or params["factor"]
        elif born is None or epsilon is None:
            raise ValueError("set_nac needs Born charges and the dielectric tensor (born, epsilon) or a born_file")
        self._fcs = with_nac(self.fcs, born, epsilon, method=method, factor=factor, supercell=supercell)
        return self

    @property
    def dielectric(self) -> CrystalResponse:
        """The field model's zero-field response of this cell (computed once): neutral Born charges
        (N, 3, 3) e, ε∞ (3, 3) and the cell's polarizability (``dielectric.crystal_response``; the
        Raman derivatives dα/dx too once :meth:`gamma_modes` has asked for them). ValueError for a
        model without a field."""
        return self._response(1)

    def _response(self, order: int) -> CrystalResponse:
        """The cached response of at least ``order`` (1: Z*, ε∞; 2: also dα/dx, a third derivative)."""
        if self._dielectric is None or (order == 2 and self._dielectric.polarizability_derivatives is None):
            if self.model is None:
                raise ValueError("these phonons come from force constants, not a model: no dielectric response")
            self._dielectric = crystal_response(self.model, self.atoms, order=order)
        return self._dielectric

    def gamma_modes(self) -> GammaModes:
        """The Γ modes with their IR intensities (km/mol per cell) and Raman tensors and activities,
        from the field model's Born charges and dα/dx (``vibrations.gamma_modes``)."""
        d = self._response(2)
        return gamma_modes(self.fcs, d.dipole_derivatives, d.polarizability_derivatives)

    @property
    def nac(self):
        """The non-analytic correction (``harmonic.nac.NonAnalyticCorrection``) or None."""
        return self.fcs.nac

    # -- force constants -------------------------------------------------------------------
    @property
    def fcs(self) -> ForceConstants:
        """The compact force constants (computed on first access)."""
        if self._fcs is None:
            self._fcs, self.report = crystal_force_constants(
                self.atoms, self.model, self.construction, self.block_size, check=False, supercell=self.supercell,
                supercell_length=self.supercell_length)
            self.construction = self.report.construction
        return self._fcs

    def supercell_convergence(self, larger=None, npoints: int = 101) -> dict:
        """How much the frequencies move when the supercell grows (supercell construction only).

        Computes the force constants again on ``larger`` (default: the smallest supercell at least
        one conventional cell wider than the current one in every direction) and compares the
        frequencies along the band path.

        Returns:
            {"supercell": (3, 3) the current matrix, "larger": the larger one, "max_change" and
            "mean_change": max and mean |Δf| in THz along the path, "force_constants": the larger
            supercell's ForceConstants}.
        """
        fcs = self.fcs
        if self.report is None or self.report.supercell is None:
            raise ValueError("supercell_convergence needs force constants from the supercell construction "
                             "(construction='supercell', or 'auto' when it picked the supercell)")
        current = self.report.supercell.matrix
        if larger is None:
            width = cell_heights(current @ self.atoms.cell[:]).min()
            conventional = conventional_matrix(self.atoms.cell[:], self.atoms.get_scaled_positions(), self.atoms.numbers)
            step = cell_heights((conventional if conventional is not None else np.eye(3)) @ self.atoms.cell[:]).max()
            larger = supercell_for_length(self.atoms, width + step, conventional)
        bigger, _ = crystal_force_constants(self.atoms, self.model, "supercell", self.block_size, check=False,
                                            supercell=larger)
        bp = band_path(fcs.cell, fcs.scaled_positions, fcs.numbers, npoints)
        change = np.abs(bigger.frequencies(bp.qpoints) - fcs.frequencies(bp.qpoints))
        return {"supercell": current, "larger": bigger.supercell, "max_change": float(change.max()),
                "mean_change": float(change.mean()), "force_constants": bigger}

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
        q = _qpoints(qpoints)
        fcs = self.fcs
        directions = None if q_direction is None else np.broadcast_to(np.asarray(q_direction, float), q.shape)
        per_chunk = max(1, int(_CHUNK_BYTES // (16 * (3 * fcs.n_atoms) ** 2)))  # complex (3N)² per q-point
        if len(q) <= per_chunk:
            return convert_frequency(fcs.frequencies(q, q_direction=directions), unit)
        out = np.empty((len(q), 3 * fcs.n_atoms))
        with progress_bar(total=len(q), desc="frequencies", unit="q") as bar:  # large cells: chunks, with progress
            for start in range(0, len(q), per_chunk):
                stop = min(start + per_chunk, len(q))
                out[start:stop] = fcs.frequencies(q[start:stop], q_direction=None if directions is None else directions[start:stop])
                bar.update(stop - start)
        return convert_frequency(out, unit)

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

    def imaginary_modes(self, bands: BandStructure | None = None, threshold: float = -0.05) -> list:
        """Imaginary modes along the band path: [(label or reduced q (3,), lowest frequency THz)],
        one per distinct q-point whose lowest frequency is below ``threshold`` THz (the acoustic modes at Γ
        are zero to round-off), most negative first. ``bands``: a computed band structure in THz
        (default: computed here)."""
        bands = bands if bands is not None else self.band_structure()
        if bands.unit != "THz":
            raise ValueError("imaginary_modes needs a band structure in THz")
        labels = {}
        for segment, names in zip(bands.path.segments, bands.path.labels):
            for q, name in zip((segment[0], segment[-1]), names):
                labels[tuple(np.round(q, 6))] = name
        lowest = bands.frequencies.min(axis=1)
        found = {}
        for q, f in zip(bands.qpoints, lowest):  # a q-point the path visits twice is reported once
            key = tuple(np.round(q, 6))
            if f < threshold:
                found[key] = (labels.get(key, q), float(f))
        return sorted(found.values(), key=lambda item: item[1])

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
        """Write band and DOS plots and phonopy files (BORN too with a non-analytic correction, and
        for a field model the Γ modes' IR and Raman intensities, ``gamma_modes.txt``) into
        ``out_dir``; returns {name: path}. ``log``: called with one line per finished stage
        (e.g. ``print``), or None."""
        out = Path(out_dir)
        say = log or (lambda line: None)
        start = time.perf_counter()
        bands = self.band_structure(npoints)
        say(f"band structure: {len(bands.qpoints)} q-points along {len(bands.path.segments)} segments, "
            f"{time.perf_counter() - start:.1f} s")
        imaginary = self.imaginary_modes(bands) if bands.unit == "THz" else []
        if imaginary:
            shown = ", ".join(f"{q if isinstance(q, str) else np.round(q, 3).tolist()}: {f:.2f} THz" for q, f in imaginary[:4])
            message = (f"imaginary modes at {len(imaginary)} of {len(bands.qpoints)} band-path q-points "
                       f"(lowest first: {shown}): the structure is not at a minimum of the model's energy"
                       f"{'' if self.relax_report is not None else ' (relax it first: relax=True / --relax)'}"
                       " or is dynamically unstable")
            warnings.warn(message, stacklevel=2)
            say("warning: " + message)
        start = time.perf_counter()
        freqs, dos = self.dos(mesh, log=lambda line: say(f"DOS: {line}"))  # the mesh's estimate, when long
        say(f"DOS: tetrahedron method on a {'×'.join(map(str, np.broadcast_to(mesh, (3,))))} mesh, "
            f"{time.perf_counter() - start:.1f} s")
        phonon = self.to_phonopy()
        title = self.atoms.get_chemical_formula()
        if self.model is not None:
            title += f", {self.model_label}"
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
        if self.model is not None and getattr(self.model, "field_order", 0) >= 1:
            table = self.gamma_modes().table() + "\n"
            files.append(("gamma_modes.txt", lambda p: atomic_write(p, lambda fh: fh.write(table.encode()))))
            say("Γ modes: IR intensities (km/mol per cell) and Raman activities (Å⁴/amu) from the field model")
        for name, writer in files:
            written[name] = out / name
            writer(written[name])
        return written


_CHUNK_BYTES = 64 * 2**20  # dynamical matrices held at once by frequencies()


def _qpoints(qpoints) -> np.ndarray:
    """q-points as an (n_q, 3) float array, or a ValueError naming what is wrong."""
    q = np.asarray(qpoints, dtype=float)
    q = q.reshape(1, 3) if q.shape == (3,) else q
    if q.ndim != 2 or q.shape[1] != 3:
        raise ValueError(f"q-points must be (3,) or (n_q, 3) reduced coordinates; got shape {np.shape(qpoints)}")
    if not np.isfinite(q).all():
        raise ValueError("q-points must be finite (no NaN or inf)")
    return q
