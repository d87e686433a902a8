"""Predictions of a model on a :class:`Batch` and the training losses built from them.

All losses are mean squares in the label's units squared:

* energy: per atom, (eV/atom)²;
* forces: per component, (eV/Å)²;
* stress: per component, (eV/Å³)²;
* hessian: Σ_k w_k |(H_model − H_ref) v_k|² per Hessian row, (eV/Å²)² — with K random normal
  tangents (weight 1/K) an unbiased estimate of the mean squared row norm of H_model − H_ref,
  with unit tangents (weight 1) its exact value. Full Hessians of the model are never formed:
  each v_k costs one forward-over-reverse Hessian-vector product;
* spectrum: squared differences of sorted dynamical-matrix eigenvalues, (eV/(Å²·amu))²:
  :func:`spectrum_loss` for a crystal at one q, and for training (``loss_weights["spectrum"]``) the
  mean over reference molecules (:class:`SpectrumTarget`, :func:`spectra_loss`) of the
  vibrational-spectrum loss of :mod:`~phonax_fast.training.spectrum_finetune`. Unlike the other
  terms it does not come from the batch: every step adds the full spectra of all references;
* dipole: per component, (e·Å)²; polarizability: per component, (e·Å²/V)²; born_charges: per
  component, e². Field models only (``FieldNequIP``, ``FieldMACE``): each structure is evaluated in its own
  field (``Sample.field``), and its energy, forces and stress are those at that field.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..derivatives import batch_derivatives, hessian_vector_products
from ..dielectric import batch_field_derivatives
from ..graphs.graph import Graph
from ..graphs.neighbors import periodic_graph
from ..graphs.validation import require_molecule
from .batching import Batch
from .spectrum_finetune import molecular_spectrum_loss, reference_eigenvalues, vibrational_projector

BATCH_TERMS = ("energy", "forces", "stress", "hessian", "dipole", "polarizability", "born_charges")
FIELD_TERMS = ("dipole", "polarizability", "born_charges")
LOSS_TERMS = (*BATCH_TERMS, "spectrum")


class Prediction(NamedTuple):
    """Model outputs on a batch: energy (G,) eV, forces (N, 3) eV/Å, stress (G, 3, 3) eV/Å³,
    hvp (K, N, 3) eV/Å² (Hessian-vector products with ``batch.tangents``; K may be 0); for field
    models dipole (G, 3) e·Å, polarizability (G, 3, 3) e·Å²/V and born_charges (N, 3, 3) e, else
    None."""

    energy: jnp.ndarray
    forces: jnp.ndarray
    stress: jnp.ndarray
    hvp: jnp.ndarray
    dipole: jnp.ndarray | None = None
    polarizability: jnp.ndarray | None = None
    born_charges: jnp.ndarray | None = None


def is_field_model(model) -> bool:
    """Whether ``model`` takes a uniform electric field (``FieldNequIP``, ``FieldMACE``: it has a ``field_order``)."""
    return getattr(model, "field_order", None) is not None


def predict(model, params, batch: Batch, field_order: int = 1) -> Prediction:
    """Energies, forces, stress and Hessian-vector products of ``model`` with weights ``params``
    (and, for a field model, each structure's dipole, polarizability and Born charges, all at the
    structure's field ``batch.field``).

    Stress is (1/V) ∂E/∂ε for a homogeneous symmetric strain ε of each structure (ASE's sign);
    all of it from :func:`~phonax_fast.derivatives.batch_derivatives`, or for field models from
    :func:`~phonax_fast.dielectric.batch_field_derivatives`, whose ``order`` is ``field_order``:
    0 leaves out the polarizabilities and Born charges (None), which cost a forward-mode
    derivative of the gradient, three times more to train through.
    """
    args = (params, batch.graph, batch.node_structure, batch.energy.shape[0])
    if is_field_model(model):
        e, de_dx, de_deps, hvp, dipole, alpha, born = batch_field_derivatives(model, *args, batch.field, batch.tangents,
                                                                              field_order)
        return Prediction(e, -de_dx, de_deps / batch.volume[:, None, None], hvp, dipole, alpha, born)
    e, de_dx, de_deps, hvp = batch_derivatives(model, *args, batch.tangents)
    return Prediction(e, -de_dx, de_deps / batch.volume[:, None, None], hvp)


predict_jit = jax.jit(predict, static_argnames="field_order")
""":func:`predict`, compiled once per batch shape (what validation and metrics use)."""


def _masked_mean(squares, mask, per_item: int):
    return jnp.sum(squares * mask) / jnp.maximum(per_item * jnp.sum(mask), 1.0)


def loss_terms(pred: Prediction, batch: Batch) -> dict:
    """Each loss term (see module doc) of a prediction against the batch labels; 0 where unlabelled."""
    energy = ((pred.energy - batch.energy) / batch.n_atoms) ** 2
    forces = jnp.sum((pred.forces - batch.forces) ** 2, axis=-1)
    stress = jnp.sum((pred.stress - batch.stress) ** 2, axis=(-2, -1))
    hvp = jnp.einsum("k,kn->n", batch.tangent_weights, jnp.sum((pred.hvp - batch.hvp_targets) ** 2, axis=-1))
    terms = {
        "energy": _masked_mean(energy, batch.energy_mask, 1),
        "forces": _masked_mean(forces, batch.forces_mask, 3),
        "stress": _masked_mean(stress, batch.stress_mask, 9),
        "hessian": _masked_mean(hvp, batch.hessian_mask, 3),
    }
    if pred.dipole is not None:
        terms["dipole"] = _masked_mean(jnp.sum((pred.dipole - batch.dipole) ** 2, axis=-1), batch.dipole_mask, 3)
    if pred.polarizability is not None:
        alpha = jnp.sum((pred.polarizability - batch.polarizability) ** 2, axis=(-2, -1))
        terms["polarizability"] = _masked_mean(alpha, batch.polarizability_mask, 9)
        born = jnp.sum((pred.born_charges - batch.born_charges) ** 2, axis=(-2, -1))
        terms["born_charges"] = _masked_mean(born, batch.born_mask, 9)
    return terms


class SpectrumTarget(NamedTuple):
    """A molecule's reference vibrational spectrum for the spectrum loss (a JAX pytree).

    Attributes:
        graph: the molecule at the reference geometry.
        projector: (3N, k) real projector onto the vibrations, amu^-1/2
            (:func:`~phonax_fast.training.spectrum_finetune.vibrational_projector`).
        target: (k,) reference eigenvalues, ascending, eV/(Å²·amu).
    """

    graph: Graph
    projector: jnp.ndarray
    target: jnp.ndarray


def spectrum_target(atoms, reference, species, cutoff: float) -> SpectrumTarget:
    """The :class:`SpectrumTarget` of a molecule (``atoms``, no periodic boundaries, at the geometry
    where ``reference`` was computed): ``reference`` is its vibrational eigenvalues (3N−6,) in
    eV/(Å²·amu), or a Cartesian Hessian (3N, 3N) / (N, 3, N, 3) in eV/Å² whose eigenvalues are
    taken with rigid-body modes projected out."""
    require_molecule(atoms, species, context=f"a spectrum reference ({atoms.get_chemical_formula()})")
    reference = np.asarray(reference, dtype=float)
    n3 = 3 * len(atoms)
    if reference.size == n3 * n3:
        reference = reference_eigenvalues(atoms, reference.reshape(n3, n3))
    projector = vibrational_projector(atoms)
    if reference.shape != (projector.shape[1],):
        raise ValueError(f"reference spectrum of shape {reference.shape} for {atoms.get_chemical_formula()}: "
                         f"expected its {projector.shape[1]} vibrational eigenvalues or a ({n3}, {n3}) Hessian")
    graph = jax.tree_util.tree_map(jnp.asarray, periodic_graph(atoms, cutoff, species))
    return SpectrumTarget(graph, jnp.asarray(projector), jnp.asarray(np.sort(reference)))


def spectra_loss(model, params, spectra) -> jnp.ndarray:
    """Mean over the :class:`SpectrumTarget` s of mean_k (λ_k(model) − target_k)², (eV/(Å²·amu))²."""
    if not spectra:
        raise ValueError("the spectrum loss needs reference spectra (SpectrumTarget s)")
    return sum(molecular_spectrum_loss(model, params, s.graph, s.projector, s.target) for s in spectra) / len(spectra)


def total_loss(model, params, batch: Batch, weights: dict, spectra=()) -> tuple[jnp.ndarray, dict]:
    """(Σ_t weights[t] · term_t, terms) for the terms named in ``weights`` (see :data:`LOSS_TERMS`);
    the ``spectrum`` term needs ``spectra`` (a sequence of :class:`SpectrumTarget`)."""
    unknown = set(weights) - set(LOSS_TERMS)
    if unknown:
        raise ValueError(f"unknown loss terms {sorted(unknown)}; use {LOSS_TERMS}")
    field_terms = sorted(set(weights) & set(FIELD_TERMS))
    if field_terms and not is_field_model(model):
        raise ValueError(f"loss terms {field_terms} need a model with an electric field (FieldNequIP or FieldMACE); "
                         f"{type(model).__name__} has none")
    if "hessian" not in weights:  # skip the Hessian-vector products (shapes are static, so this is free)
        batch = batch._replace(tangents=batch.tangents[:0], hvp_targets=batch.hvp_targets[:0], tangent_weights=batch.tangent_weights[:0])
    order = 1 if {"polarizability", "born_charges"} & set(weights) else 0  # the responses the loss needs
    terms = loss_terms(predict(model, params, batch, order), batch)
    if "spectrum" in weights:
        terms["spectrum"] = spectra_loss(model, params, spectra)
    return sum(w * terms[t] for t, w in weights.items()), terms


def spectrum_loss(model, params, graph, bloch: jnp.ndarray, target: jnp.ndarray) -> jnp.ndarray:
    """Mean squared difference of sorted eigenvalues of the model's dynamical matrix and ``target``.

    The dynamical matrix at a wave vector q is D(q) = B^H H B for the Hessian H of the (periodic)
    ``graph`` and a Bloch projector B (see :func:`bloch_projector`); H·B takes 2·3n_p Hessian-vector
    products (real and imaginary parts), no full Hessian.

    Args:
        graph: the structure (a supercell commensurate with q, or the unit cell for q = Γ).
        bloch: (3N, 3n_p) complex Bloch projector, amu^-1/2.
        target: (3n_p,) reference eigenvalues, ascending, eV/(Å²·amu).
    Returns:
        mean_k (λ_k(model) − target_k)², (eV/(Å²·amu))².
    """
    n = graph.positions.shape[0]
    columns = jnp.concatenate([bloch.real, bloch.imag], axis=1).T.reshape(-1, n, 3)
    hb = hessian_vector_products(model, params, graph, columns).reshape(2, bloch.shape[1], 3 * n)
    hb = (hb[0] + 1j * hb[1]).T  # (3N, 3n_p) = H B
    d = bloch.conj().T @ hb
    eigenvalues = jnp.linalg.eigvalsh(0.5 * (d + d.conj().T))
    return jnp.mean((eigenvalues - target) ** 2)


def bloch_projector(atoms, primitive_index, qpoint) -> jnp.ndarray:
    """(3N, 3n_p) Bloch projector of a supercell: B[(b,β), (j,β)] = e^{2πi q·r_b}/√(m_j) / √(N/n_p)
    for supercell atom b that is a copy of primitive atom j, else 0.

    Args:
        atoms: the supercell (ase.Atoms, Å, amu).
        primitive_index: (N,) int, the primitive atom each supercell atom copies.
        qpoint: (3,) wave vector, Cartesian, 1/Å without the 2π (``q_reduced @ cell.reciprocal()``);
            it must be commensurate with the supercell.
    """
    index = np.asarray(primitive_index)
    n, n_p = len(atoms), int(index.max()) + 1
    copies = n // n_p
    phase = np.exp(2j * np.pi * atoms.get_positions() @ np.asarray(qpoint)) / np.sqrt(atoms.get_masses() * copies)
    b = np.zeros((n, 3, n_p, 3), dtype=complex)
    for beta in range(3):
        b[np.arange(n), beta, index, beta] = phase
    return jnp.asarray(b.reshape(3 * n, 3 * n_p))
