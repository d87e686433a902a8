"""A molecule's vibrational spectrum as a training signal (paper §III C 5): projector, spectrum, loss.

The training signal is the sorted list of vibrational eigenvalues of the molecule's mass-weighted
Hessian at a fixed geometry (e.g. the reference method's minimum), compared with reference
eigenvalues by a mean square, as :func:`~phonax_fast.training.losses.spectrum_loss` does for
crystals. For a molecule the "Bloch projector" at Γ is M^{-1/2}; here it is followed by an
orthonormal basis V of the vibrational subspace (the complement of rigid translations and
rotations in mass-weighted coordinates, Eckart frame), so that

    D = Vᵀ M^{-1/2} H M^{-1/2} V            (3N−6 × 3N−6; 3N−5 for a linear molecule)

has exactly the vibrational eigenvalues that :class:`~phonax_fast.vibrations.Vibrations` reports,
without the six rigid-body eigenvalues (which are not zero for a model whose minimum is not at
the given geometry, and would mix with the soft vibrations in a sorted list). H·P costs 3N−6
forward-over-reverse Hessian-vector products; the full Hessian is never formed.

Units: eigenvalues in eV/(Å²·amu) (the package's, see :mod:`phonax_fast.units`); losses in their
square; mean absolute errors reported in cm⁻¹ (:func:`~phonax_fast.units.eigenvalues_to_cm1`).

Training on spectra goes through :func:`~phonax_fast.training.train` with a ``spectrum`` loss
term (:class:`~phonax_fast.training.losses.SpectrumTarget`); the paper's study, fine-tuning on one
molecule's spectrum alone, is ``studies/spectrum_finetune_study.py`` in the repository.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from ase import Atoms

from ..derivatives import hessian_vector_products
from ..forceconstants.molecule import rigid_body_basis
from ..units import eigenvalues_to_cm1
from ..vibrations.normal_modes import normal_modes

__all__ = ["eigenvalues_to_cm1", "molecular_spectrum", "molecular_spectrum_loss", "reference_eigenvalues",
           "vibrational_projector"]


def vibrational_projector(atoms: Atoms) -> np.ndarray:
    """(3N, 3N−6) real matrix P = M^{-1/2} V, amu^-1/2: V is an orthonormal basis of the
    mass-weighted vibrational subspace (orthogonal to rigid translations and rotations);
    3N−5 columns for a linear molecule."""
    masses = atoms.get_masses()
    rigid = rigid_body_basis(atoms.get_positions(), masses)
    n3 = 3 * len(atoms)
    u = np.linalg.svd(np.eye(n3) - rigid @ rigid.T)[0][:, : n3 - rigid.shape[1]]
    return np.repeat(1 / np.sqrt(masses), 3)[:, None] * u


def reference_eigenvalues(atoms: Atoms, hessian) -> np.ndarray:
    """Sorted vibrational eigenvalues (3N−6,) in eV/(Å²·amu) of a reference Cartesian Hessian
    (3N, 3N) in eV/Å², rigid-body modes projected out (the same as ``Vibrations(atoms, hessian=H)``)."""
    modes = normal_modes(np.asarray(hessian, dtype=float).reshape(3 * len(atoms), -1), atoms.get_positions(),
                         atoms.get_masses())
    return np.sort(modes.eigenvalues[~modes.rigid])


def molecular_spectrum(model, params, graph, projector) -> jnp.ndarray:
    """Sorted eigenvalues of Pᵀ H P for the model's Hessian H of a molecular ``graph`` (eV/Å²) and
    a real projector P (3N, k) in amu^-1/2 (see :func:`vibrational_projector`); k HVPs."""
    n = graph.positions.shape[0]
    projector = jnp.asarray(projector, dtype=graph.positions.dtype)
    hp = hessian_vector_products(model, params, graph, projector.T.reshape(-1, n, 3))
    hp = hp.reshape(projector.shape[1], 3 * n).T  # H P
    d = projector.T @ hp
    return jnp.linalg.eigvalsh(0.5 * (d + d.T))


def molecular_spectrum_loss(model, params, graph, projector, target) -> jnp.ndarray:
    """mean_k (λ_k(model) − target_k)² in (eV/(Å²·amu))², λ sorted (see :func:`molecular_spectrum`).

    Equal to ``losses.spectrum_loss(model, params, graph, projector.astype(complex), target)``
    (the crystal form with a real projector), at half its cost."""
    return jnp.mean((molecular_spectrum(model, params, graph, projector) - target) ** 2)
