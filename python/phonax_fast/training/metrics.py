"""Validation metrics: energy / force / stress / Hessian errors on batches, phonon frequency errors."""

from __future__ import annotations

import jax
import numpy as np

from ..phonons import Phonons
from ..units import eigenvalues_to_cm1
from .batching import Batcher
from .data import to_atoms
from .losses import predict_jit
from .spectrum_finetune import molecular_spectrum

_molecular_spectrum = jax.jit(molecular_spectrum)


def _accumulate(sums: dict, name: str, diff, mask, per_item: int):
    diff, mask = np.asarray(diff), np.asarray(mask)
    if mask.sum() == 0:
        return
    absolute = np.abs(diff).reshape(len(mask), -1) * mask[:, None]
    s = sums.setdefault(name, [0.0, 0.0, 0.0])
    s[0] += absolute.sum()
    s[1] += (absolute**2).sum()
    s[2] += per_item * mask.sum()


def evaluate(model, params, batcher: Batcher, predict_fn=None) -> dict:
    """MAE and RMSE over a data set: ``energy_*`` (eV/atom), ``forces_*`` (eV/Å), ``stress_*`` (eV/Å³),
    ``hessian_*`` (eV/Å², over the products with the batcher's tangents: use ``hessian_projections=0``
    for exact Hessian-entry errors), for field models ``dipole_*`` (e·Å), ``polarizability_*``
    (e·Å²/V) and ``born_charges_*`` (e), per component. Only labelled quantities appear.

    ``predict_fn(model, params, batch)``: the predictions (default: the jitted :func:`predict`).
    """
    predict_fn = predict_fn or predict_jit
    sums: dict = {}
    for batch in batcher.epoch(0):
        pred = predict_fn(model, params, batch)
        _accumulate(sums, "energy", (pred.energy - batch.energy) / batch.n_atoms, batch.energy_mask, 1)
        _accumulate(sums, "forces", pred.forces - batch.forces, batch.forces_mask, 3)
        _accumulate(sums, "stress", pred.stress - batch.stress, batch.stress_mask, 9)
        if pred.dipole is not None:
            _accumulate(sums, "dipole", pred.dipole - batch.dipole, batch.dipole_mask, 3)
        if pred.polarizability is not None:
            _accumulate(sums, "polarizability", pred.polarizability - batch.polarizability, batch.polarizability_mask, 9)
            _accumulate(sums, "born_charges", pred.born_charges - batch.born_charges, batch.born_mask, 9)
        if batch.tangents.shape[0]:
            used = np.asarray(batch.tangent_weights) > 0
            diff = np.asarray(pred.hvp - batch.hvp_targets)[used]  # (K_used, N, 3)
            _accumulate(sums, "hessian", diff.transpose(1, 0, 2), batch.hessian_mask, 3 * int(used.sum()))
    out = {}
    for name, (abs_sum, sq_sum, count) in sums.items():
        out[f"{name}_mae"] = abs_sum / count
        out[f"{name}_rmse"] = float(np.sqrt(sq_sum / count))
    return out


def spectrum_errors(model, params, spectra) -> dict:
    """Vibrational-frequency errors (cm⁻¹) of ``model`` with ``params`` against reference spectra
    (:class:`~phonax_fast.training.losses.SpectrumTarget`), over all sorted modes of all molecules:
    ``{"mae_cm1": …, "max_cm1": …}``."""
    diffs = [np.abs(eigenvalues_to_cm1(np.asarray(_molecular_spectrum(model, params, s.graph, s.projector)))
                    - eigenvalues_to_cm1(np.asarray(s.target))) for s in spectra]
    diff = np.concatenate(diffs)
    return {"mae_cm1": float(diff.mean()), "max_cm1": float(diff.max())}


def frequency_errors(model, reference, qpoints) -> dict:
    """Phonon frequency errors of ``model`` against reference force constants, in THz.

    Args:
        model: energy model (its force constants are computed exactly, see ``Phonons``).
        reference: ``phonopy.Phonopy`` with force constants (e.g. DFT); its primitive cell is used.
        qpoints: (n_q, 3) wave vectors in reduced coordinates of the primitive cell.
    Returns:
        ``{"mae": …, "rmse": …, "max": …}`` over all bands and q-points, THz.
    """
    reference.run_qpoints(np.asarray(qpoints))
    ref = reference.get_qpoints_dict()["frequencies"]
    ours = Phonons(to_atoms(reference.primitive), model).frequencies(qpoints)
    diff = np.abs(np.asarray(ours) - ref)
    return {"mae": float(diff.mean()), "rmse": float(np.sqrt((diff**2).mean())), "max": float(diff.max())}


def commensurate_qpoints(phonon) -> np.ndarray:
    """(n_q, 3) q-points (reduced, primitive cell) where the supercell force constants of ``phonon``
    are exact: the wave vectors commensurate with its supercell."""
    from phonopy.harmonic.dynmat_to_fc import get_commensurate_points

    smat = np.rint(np.linalg.inv(phonon.primitive.primitive_matrix)).astype(int)
    return np.asarray(get_commensurate_points(smat))
