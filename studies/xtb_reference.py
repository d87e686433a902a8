"""Reference data from GFN-xTB (tblite) for molecules: energies, forces, minima and Hessians.

tblite is a test/dev extra (``pip install tblite==0.8.0``), never a run-time dependency: it is
imported only when a calculator is made. Units: eV, Å, eV/Å, eV/Å².

tblite has no Hessian API; :func:`fd_hessian` takes central differences of its analytic gradients
(step 0.005 bohr, one reused calculator), which agree with analytic GFN2-xTB Hessians to ~1e-4
relative. Set ``OMP_NUM_THREADS=1`` before importing tblite on a small shared CPU: its OpenMP
threads make molecules this small several times slower.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.optimize import BFGS
from phonax_fast.fileio import atomic_write
from phonax_fast.training.data import Sample
from phonax_fast.units import ANGSTROM_PER_BOHR, EV_PER_HARTREE

FD_STEP_BOHR = 0.005


class XTB(Calculator):
    """ASE calculator over one reused ``tblite.interface.Calculator`` (energies in eV, forces in eV/Å).

    The previous wavefunction is passed as a restart guess; the structure (numbers) is fixed."""

    implemented_properties = ("energy", "forces")

    def __init__(self, atoms: Atoms, method: str = "GFN2-xTB"):
        super().__init__()
        try:
            from tblite.interface import Calculator as TBCalculator
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("GFN-xTB reference data need tblite: pip install tblite==0.8.0") from err

        self.method = method
        self._numbers = atoms.numbers.copy()
        self._xtb = TBCalculator(method, atoms.numbers, atoms.get_positions() / ANGSTROM_PER_BOHR)
        self._xtb.set("verbosity", 0)
        self._res = None

    def energy_forces(self, positions: np.ndarray) -> tuple[float, np.ndarray]:
        """Energy (eV) and forces (n, 3) eV/Å at ``positions`` (n, 3) Å."""
        self._xtb.update(np.asarray(positions) / ANGSTROM_PER_BOHR)
        self._res = self._xtb.singlepoint(self._res) if self._res is not None else self._xtb.singlepoint()
        energy = float(self._res.get("energy")) * EV_PER_HARTREE
        return energy, -np.array(self._res.get("gradient")) * EV_PER_HARTREE / ANGSTROM_PER_BOHR

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if not np.array_equal(self.atoms.numbers, self._numbers):
            raise ValueError("XTB calculators are made for one molecule")
        e, f = self.energy_forces(self.atoms.get_positions())
        self.results = {"energy": e, "forces": f}


def relax(atoms: Atoms, calc, fmax: float = 1e-4, steps: int = 2000) -> Atoms:
    """A copy of ``atoms`` relaxed on ``calc`` (an ASE calculator) by ASE's BFGS to max force
    ``fmax`` eV/Å. BFGS keeps the point group of a symmetric start: the forces carry it."""
    atoms = atoms.copy()
    atoms.calc = calc
    BFGS(atoms, logfile=None).run(fmax=fmax, steps=steps)
    atoms.calc = None
    return atoms


def optimise(atoms: Atoms, method: str = "GFN2-xTB", fmax: float = 1e-4) -> Atoms:
    """A copy of ``atoms`` relaxed with ``method`` by ASE's BFGS to max force ``fmax`` eV/Å."""
    return relax(atoms, XTB(atoms, method), fmax)


def fd_hessian(atoms: Atoms, method: str = "GFN2-xTB", step_bohr: float = FD_STEP_BOHR) -> np.ndarray:
    """(3N, 3N) Hessian in eV/Å² by central differences of gradients, symmetrised (6N gradients)."""
    calc = XTB(atoms, method)
    x0 = atoms.get_positions()
    h = step_bohr * ANGSTROM_PER_BOHR
    rows = []
    for k in range(x0.size):
        forces = []
        for sign in (1, -1):
            x = x0.copy()
            x.flat[k] += sign * h
            forces.append(calc.energy_forces(x)[1].ravel())
        rows.append(-(forces[0] - forces[1]) / (2 * h))
    hess = np.array(rows)
    return 0.5 * (hess + hess.T)


def rattled_samples(atoms: Atoms, method: str, n: int, rng: np.random.Generator,
                    sigmas: tuple[float, float] = (0.01, 0.08)) -> list[Sample]:
    """``n`` copies of ``atoms`` with Gaussian displacements of σ from ``sigmas[0]`` to ``sigmas[1]`` Å
    (evenly spaced), labelled with ``method``'s energy and forces."""
    calc = XTB(atoms, method)
    samples = []
    for sigma in np.linspace(*sigmas, n):
        x = atoms.get_positions() + rng.normal(scale=sigma, size=(len(atoms), 3))
        e, f = calc.energy_forces(x)
        samples.append(Sample(Atoms(atoms.get_chemical_symbols(), positions=x), energy=e, forces=f))
    return samples


def atomic_reference_energies(samples, species) -> np.ndarray:
    """Least-squares energy per element (eV) over the samples; elements absent get 0."""
    counts = np.array([[s.atoms.get_chemical_symbols().count(e) for e in species] for s in samples], float)
    energies = np.array([s.energy for s in samples])
    present = counts.sum(0) > 0
    shift = np.zeros(len(species))
    shift[present] = np.linalg.lstsq(counts[:, present], energies, rcond=None)[0]
    return shift


def with_data_statistics(model, samples):
    """``model`` with per-species energy shifts fitted to the samples' energies (least squares,
    :func:`atomic_reference_energies`) and output scale = RMS force component of the samples."""
    params = dict(model.params)
    params["shift"] = np.asarray(atomic_reference_energies(samples, model.species))
    params["scale"] = np.asarray(float(np.sqrt(np.mean(np.concatenate([s.forces.ravel() for s in samples]) ** 2))))
    return model.with_params(jax.tree_util.tree_map(np.asarray, params))


def cached_arrays(path, key: str, make, log=print) -> dict:
    """Arrays of reference data kept in the ``.npz`` file ``path`` under the string ``key``.

    If ``path`` holds data made with the same ``key`` (a string naming everything the data depend
    on), they are read back; otherwise ``make()`` (a dict of arrays) is called and its result is
    written atomically with the key. Returns the dict of arrays without the key."""
    path = Path(path)
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            if "key" in z.files and str(z["key"]) == key:
                log(f"reusing {path}")
                return {k: np.asarray(z[k]) for k in z.files if k != "key"}
    data = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: np.savez(f, key=np.array(key), **data))
    return data
