"""The optax training loop: optimiser, EMA of the weights, validation, atomic resumable checkpoints."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..fileio import atomic_write
from ..progress import progress_bar
from .batching import Batcher
from .losses import is_field_model, predict_jit, total_loss
from .metrics import evaluate, spectrum_errors

OPTIMIZERS = ("adamw", "amsgrad")
SCHEDULES = ("constant", "cosine", "exponential")


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser settings.

    Attributes:
        optimizer: "adamw" or "amsgrad".
        learning_rate: peak learning rate.
        schedule: "constant", "cosine" (warm-up then cosine decay to ``final_lr_fraction``) or
            "exponential" (warm-up then exponential decay to ``final_lr_fraction`` at the last step).
        warmup_steps: linear warm-up steps.
        final_lr_fraction: final learning rate / peak.
        weight_decay: decoupled weight decay (AdamW only).
        clip_norm: clip gradients to this global norm (None: no clipping).
        ema_decay: decay of the exponential moving average of the weights (None: no EMA).
    """

    optimizer: str = "adamw"
    learning_rate: float = 5e-3
    schedule: str = "cosine"
    warmup_steps: int = 50
    final_lr_fraction: float = 0.01
    weight_decay: float = 0.0
    clip_norm: float | None = 10.0
    ema_decay: float | None = 0.99

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; use one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; use one of {SCHEDULES}")
        if self.ema_decay is not None and not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")


def make_optimizer(cfg: OptimConfig, total_steps: int) -> optax.GradientTransformation:
    """The optax chain of ``cfg`` for a run of ``total_steps`` steps."""
    lr = cfg.learning_rate
    decay_steps = max(total_steps, cfg.warmup_steps + 1)
    if cfg.schedule == "cosine":
        schedule = optax.warmup_cosine_decay_schedule(0.0, lr, cfg.warmup_steps, decay_steps, lr * cfg.final_lr_fraction)
    elif cfg.schedule == "exponential":
        schedule = optax.warmup_exponential_decay_schedule(
            0.0, lr, cfg.warmup_steps, decay_steps - cfg.warmup_steps, cfg.final_lr_fraction, end_value=lr * cfg.final_lr_fraction
        )
    else:
        schedule = optax.constant_schedule(lr)
    if cfg.optimizer == "adamw":
        opt = optax.adamw(schedule, weight_decay=cfg.weight_decay)
    else:
        opt = optax.amsgrad(schedule)
    return optax.chain(optax.clip_by_global_norm(cfg.clip_norm), opt) if cfg.clip_norm else opt


class TrainState(NamedTuple):
    """Weights, optimiser state, EMA weights and the step counter (a pytree)."""

    params: dict
    opt_state: tuple
    ema: dict
    step: jnp.ndarray


@dataclass
class History:
    """Per-epoch records: ``{"epoch", "step", "loss", <terms>, "valid": {metrics}}``."""

    records: list = field(default_factory=list)


@partial(jax.jit, static_argnames=("optim", "total_steps", "weights"))
def train_step(model, state: TrainState, batch, optim: OptimConfig, total_steps: int, weights: tuple, spectra=()):
    """One optimiser step; returns (new state, loss, loss terms).

    ``weights``: sorted ``((term, weight), …)``. Static arguments are hashable so that runs with the
    same settings and batch shapes reuse one compilation. ``spectra``: the reference spectra
    (:class:`~phonax_fast.training.losses.SpectrumTarget`) of a ``spectrum`` term.
    """
    optimizer = make_optimizer(optim, total_steps)
    (loss, terms), grads = jax.value_and_grad(lambda p: total_loss(model, p, batch, dict(weights), spectra),
                                              has_aux=True)(state.params)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    decay = optim.ema_decay
    ema = params if decay is None else optax.incremental_update(params, state.ema, 1.0 - decay)
    return TrainState(params, opt_state, ema, state.step + 1), loss, terms




RESPONSE_TERMS = ("born_charges", "polarizability")
"""Loss terms that need a field model's second derivatives (a forward-mode pass over the gradient)."""


def batch_weights(weights: tuple, batch) -> tuple:
    """``weights`` without the polarizability and Born-charge terms when ``batch`` has none of those
    labels (their terms are zero there): such batches skip the forward-mode pass that would cost
    ~3 times the step (one more compilation serves them)."""
    if not any(k in RESPONSE_TERMS for k, _ in weights):
        return weights
    if np.any(np.asarray(batch.born_mask)) or np.any(np.asarray(batch.polarizability_mask)):
        return weights
    light = tuple((k, w) for k, w in weights if k not in RESPONSE_TERMS)
    return light or weights


def init_state(model, optimizer) -> TrainState:
    params = model.params
    return TrainState(params, optimizer.init(params), params, jnp.zeros((), jnp.int64))


def save_checkpoint(path: Path, state: TrainState, epoch: int, history: History) -> None:
    """Write ``state`` (all leaves), the finished epoch and the history to ``path`` (.npz), atomically."""
    leaves = jax.tree_util.tree_leaves(state)
    arrays = {f"leaf_{k:05d}": np.asarray(v) for k, v in enumerate(leaves)}
    meta = json.dumps({"epoch": epoch, "n_leaves": len(leaves), "history": history.records})
    arrays["__meta__"] = np.frombuffer(meta.encode(), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path: Path, like: TrainState) -> tuple[TrainState, int, History]:
    """(state, finished epoch, history) from a checkpoint; ``like`` gives the pytree structure."""
    leaves, treedef = jax.tree_util.tree_flatten(like)
    with np.load(path) as data:
        meta = json.loads(bytes(data["__meta__"]).decode())
        if meta["n_leaves"] != len(leaves):
            raise ValueError(f"checkpoint {path} has {meta['n_leaves']} arrays, the configured model and optimiser need {len(leaves)}: was the configuration changed?")
        restored = [jnp.asarray(data[f"leaf_{k:05d}"], dtype=ref.dtype) for k, ref in enumerate(leaves)]
    for new, ref in zip(restored, leaves):
        if new.shape != ref.shape:
            raise ValueError(f"checkpoint {path} does not match the configured model (array shape {new.shape} vs {ref.shape})")
    return jax.tree_util.tree_unflatten(treedef, restored), meta["epoch"], History(meta["history"])


def train(model, train_data: Batcher, *, epochs: int, loss_weights: dict, optim: OptimConfig = OptimConfig(),
          valid_data: Batcher | None = None, checkpoint: Path | None = None, valid_every: int = 10,
          checkpoint_every: int = 10, log=None, spectra=()):
    """Train ``model`` on ``train_data`` for ``epochs`` epochs.

    Args:
        model: an energy model; its ``params`` are the starting weights.
        train_data / valid_data: batchers (see :class:`Batcher`); validation uses the EMA weights.
        loss_weights: ``{term: weight}`` over ``losses.LOSS_TERMS``.
        optim: optimiser settings.
        checkpoint: ``.npz`` path; if it exists, training resumes from it.
        valid_every / checkpoint_every: in epochs (the last epoch always does both).
        log: called with the record (a dict) of every ``valid_every``-th epoch, e.g. ``print``.
        spectra: reference molecular spectra (:class:`~phonax_fast.training.losses.SpectrumTarget`)
            for a ``spectrum`` loss weight; whenever validation runs, the record also gets their
            frequency errors with the EMA weights (``"spectrum_errors": {"mae_cm1": …, "max_cm1": …}``).
    Returns:
        (model with the EMA weights, or the last weights without EMA; :class:`History`).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be ≥ 1, got {epochs}")
    total_steps = epochs * len(train_data)
    state, start, history = init_state(model, make_optimizer(optim, total_steps)), 0, History()
    if checkpoint is not None and Path(checkpoint).exists():
        state, start, history = load_checkpoint(Path(checkpoint), state)
    weights = tuple(sorted((k, float(v)) for k, v in loss_weights.items() if v))
    if not weights:
        raise ValueError("all loss weights are zero")
    spectra = tuple(spectra)
    if not is_field_model(model) and any(s.has_field_labels for s in train_data.samples):
        raise ValueError("the training data have electric-field labels (a nonzero field, dipoles, polarizabilities "
                         f"or Born charges) but {type(model).__name__} takes no field: train a field model (FieldNequIP or FieldMACE)")
    if "spectrum" in dict(weights) and not spectra:
        raise ValueError("loss_weights has a spectrum term but no reference spectra were given")
    with progress_bar(total=(epochs - start) * len(train_data), desc="training", unit="step") as bar:
        for epoch in range(start, epochs):
            sums, n = {}, 0
            for batch in train_data.epoch(epoch):
                state, loss, terms = train_step(model, state, batch, optim, total_steps, batch_weights(weights, batch),
                                                spectra if "spectrum" in dict(weights) else ())
                n += 1
                for k, v in {"loss": loss, **terms}.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{float(loss):.3e}")
            loss_mean = sums["loss"] / n
            if not math.isfinite(loss_mean):
                raise FloatingPointError(f"training loss became {loss_mean} in epoch {epoch + 1}; lower the learning rate")
            record = {"epoch": epoch + 1, "step": int(state.step), **{k: v / n for k, v in sums.items()}}
            report = (epoch + 1) % valid_every == 0 or epoch + 1 == epochs
            if valid_data is not None and report:
                record["valid"] = evaluate(model, state.ema, valid_data, predict_jit)
            if spectra and report:
                record["spectrum_errors"] = spectrum_errors(model, state.ema, spectra)
            history.records.append(record)
            if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
                save_checkpoint(Path(checkpoint), state, epoch + 1, history)
            if log and report:
                log(record)
    return model.with_params(state.ema), history
