"""Run a training configuration: read data, build or load the model, train, save, evaluate phonons."""

from __future__ import annotations

import numpy as np

from ..models import MODEL_CLASSES, load
from .batching import Batcher
from .config import TrainConfig, load_reference, read_source, read_spectrum_source
from .losses import spectrum_target
from .metrics import commensurate_qpoints, frequency_errors
from .trainer import train


def build_model(config: TrainConfig):
    """A new model from ``config.model`` (``name`` + hyper-parameters + ``seed``) or the saved ``init_from``."""
    if config.init_from is not None:
        return load(config.init_from)
    hyper = dict(config.model)
    name = hyper.pop("name", "NequIP")
    if name not in MODEL_CLASSES:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODEL_CLASSES)}")
    species = hyper.pop("species", None)
    if not species:
        raise ValueError("model.species (a list of element symbols) is required")
    return MODEL_CLASSES[name].init(species, **hyper)


def run(config: TrainConfig, log=print):
    """Train as configured; save the model to ``config.output_model``.

    Returns:
        (trained model, History, {material: frequency errors in THz at the commensurate q-points}).
    """
    root = config.root()
    model = build_model(config)
    train_samples = [s for source in config.train for s in read_source(source, root)]
    valid_samples = [s for source in config.valid for s in read_source(source, root)]
    common = {"species": model.species, "cutoff": model.cutoff, "batch_size": config.batch_size}
    train_data = Batcher(train_samples, seed=config.seed, hessian_projections=config.hessian_projections, **common)
    valid_data = Batcher(valid_samples, shuffle=False, hessian_projections=0, **common) if valid_samples else None
    spectra = [spectrum_target(atoms, reference, model.species, model.cutoff)
               for source in config.spectra for atoms, reference in read_spectrum_source(source, root)]
    log(f"training {model.model_name} on {len(train_samples)} structures ({len(valid_samples)} for validation)"
        + (f", {len(spectra)} reference spectra" if spectra else ""))
    model, history = train(
        model, train_data, epochs=config.epochs, loss_weights=config.loss_weights, optim=config.optimizer,
        valid_data=valid_data, checkpoint=config.checkpoint, valid_every=config.valid_every,
        checkpoint_every=config.checkpoint_every, log=EpochTable(log), spectra=spectra,
    )
    model.save(config.output_model)
    log(f"model written to {config.output_model}")
    errors = {}
    for name, source in config.phonons.items():
        reference = load_reference(source, root)
        errors[name] = frequency_errors(model, reference, commensurate_qpoints(reference))
        log(f"{name}: phonon frequency error vs DFT (commensurate q) {errors[name]}")
    return model, history, errors


class EpochTable:
    """Epoch records of ``train`` as rows of a table (header before the first), 4 significant
    digits; nested metrics (``valid``) become columns ``valid.NAME``, lists their largest |value|."""

    def __init__(self, log):
        self.log, self.columns = log, None

    @staticmethod
    def flat(record: dict, prefix: str = "") -> dict:
        out = {}
        for key, value in record.items():
            if isinstance(value, dict):
                out.update(EpochTable.flat(value, f"{prefix}{key}."))
            elif isinstance(value, (list, tuple)) or getattr(value, "ndim", 0):
                values = [abs(float(v)) for v in np.ravel(np.asarray(value, dtype=float))]
                out[f"{prefix}{key}.max"] = max(values) if values else float("nan")
            else:
                out[f"{prefix}{key}"] = value
        return out

    def __call__(self, record):
        if not isinstance(record, dict):
            self.log(record)
            return
        row = self.flat(record)
        if self.columns is None:
            self.columns = list(row)
            self.log("  ".join(f"{c:>{max(10, len(c))}}" for c in self.columns))
        cells = []
        for column in self.columns:
            value, width = row.get(column, ""), max(10, len(column))
            text = f"{value:.4g}" if isinstance(value, float) else str(value)
            cells.append(f"{text:>{width}}")
        self.log("  ".join(cells))
