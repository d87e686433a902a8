"""Fine-tuning an energy model on one molecule's vibrational spectrum (paper §III C 5).

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
square; mean absolute errors reported in cm⁻¹.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import optax
from ase import Atoms

from ..graphs.neighbors import periodic_graph
from ..graphs.validation import validate_structure
from ..units import CM1_PER_THZ, eigenvalues_to_thz
from ..vibrations.normal_modes import normal_modes, rigid_body_basis


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


def eigenvalues_to_cm1(eigenvalues):
    """sign(λ)·√|λ| in cm⁻¹ for λ in eV/(Å²·amu) (imaginary frequencies negative)."""
    return eigenvalues_to_thz(np.asarray(eigenvalues)) * CM1_PER_THZ


def molecular_spectrum(model, params, graph, projector) -> jnp.ndarray:
    """Sorted eigenvalues of Pᵀ H P for the model's Hessian H of a molecular ``graph`` (eV/Å²) and
    a real projector P (3N, k) in amu^-1/2 (see :func:`vibrational_projector`); k HVPs."""
    n = graph.positions.shape[0]

    def grad(x):
        return jax.grad(lambda y: jnp.dot(graph.energy_weights, model.apply(params, graph._replace(positions=y))))(x)

    _, linear = jax.linearize(grad, graph.positions)
    projector = jnp.asarray(projector, dtype=graph.positions.dtype)
    hp = jax.vmap(linear)(projector.T.reshape(-1, n, 3)).reshape(projector.shape[1], 3 * n).T  # H P
    d = projector.T @ hp
    return jnp.linalg.eigvalsh(0.5 * (d + d.T))


def molecular_spectrum_loss(model, params, graph, projector, target) -> jnp.ndarray:
    """mean_k (λ_k(model) − target_k)² in (eV/(Å²·amu))², λ sorted (see :func:`molecular_spectrum`).

    Equal to ``losses.spectrum_loss(model, params, graph, projector.astype(complex), target)``
    (the crystal form with a real projector), at half its cost."""
    return jnp.mean((molecular_spectrum(model, params, graph, projector) - target) ** 2)


@dataclass
class SpectrumHistory:
    """Per logged step: ``step``, ``loss`` ((eV/(Å²·amu))²), ``mae_cm1`` (mean |Δν| over the
    sorted vibrational frequencies) and ``seconds`` since the start."""

    records: list = field(default_factory=list)

    def column(self, key: str) -> np.ndarray:
        return np.array([r[key] for r in self.records])


def finetune_spectrum(model, atoms: Atoms, target, optimizer: optax.GradientTransformation, steps: int, *,
                      log_every: int = 10, log=None):
    """Fine-tune ``model`` so that the vibrational spectrum of ``atoms`` at its given geometry
    matches ``target``.

    Args:
        model: an energy model (a pytree; its ``params`` are the starting weights).
        atoms: the molecule (Å, amu; no periodic boundary conditions), typically at the reference
            method's minimum.
        target: (3N−6,) reference vibrational eigenvalues in eV/(Å²·amu), ascending (see
            :func:`reference_eigenvalues`); a (3N, 3N) reference Hessian in eV/Å² is accepted too.
        optimizer: an optax gradient transformation, e.g. ``optax.adam(1e-3)``.
        steps: optimisation steps (one molecule, full spectrum each step).
        log_every: record (and pass to ``log``) every ``log_every``-th step; the first and last
            steps are always recorded.
        log: called with each record (a dict), e.g. ``print``.
    Returns:
        (fine-tuned model, :class:`SpectrumHistory`); the record of step s is for the weights
        before update s + 1, so step 0 is the starting model and step ``steps`` the returned one.
    """
    if steps < 0:
        raise ValueError(f"steps must be ≥ 0, got {steps}")
    if atoms.pbc.any():
        raise ValueError("spectrum fine-tuning is for isolated molecules: set atoms.pbc = False")
    validate_structure(atoms, model.species)
    target = np.asarray(target, dtype=float)
    n3 = 3 * len(atoms)
    if target.shape == (n3, n3):
        target = reference_eigenvalues(atoms, target)
    projector = vibrational_projector(atoms)
    if target.shape != (projector.shape[1],):
        raise ValueError(f"target has shape {target.shape}; {atoms.get_chemical_formula()} has "
                         f"{projector.shape[1]} vibrational eigenvalues")
    if not np.all(np.diff(target) >= 0):
        target = np.sort(target)
    graph = jax.tree_util.tree_map(jnp.asarray, periodic_graph(atoms, model.cutoff, model.species))
    projector, target_j = jnp.asarray(projector), jnp.asarray(target)
    target_cm1 = eigenvalues_to_cm1(target)

    @jax.jit
    def step_fn(params, opt_state):
        def loss_fn(p):
            lam = molecular_spectrum(model, p, graph, projector)
            return jnp.mean((lam - target_j) ** 2), lam

        (loss, lam), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, lam

    params, history, start = model.params, SpectrumHistory(), time.perf_counter()
    opt_state = optimizer.init(params)

    def record(step, loss, lam):
        loss = float(loss)
        if not math.isfinite(loss):
            raise FloatingPointError(f"spectrum loss became {loss} at step {step}; lower the learning rate")
        rec = {"step": step, "loss": loss, "mae_cm1": float(np.mean(np.abs(eigenvalues_to_cm1(lam) - target_cm1))),
               "seconds": time.perf_counter() - start}
        history.records.append(rec)
        if log:
            log(rec)

    for step in range(steps + 1):  # the last call only evaluates the final weights (one compilation)
        new_params, new_state, loss, lam = step_fn(params, opt_state)
        if step % log_every == 0 or step == steps:
            record(step, loss, lam)
        if step < steps:
            params, opt_state = new_params, new_state
    return model.with_params(params), history
