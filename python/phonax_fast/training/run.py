"""Run a training configuration: read data, build or load the model, train, save, evaluate phonons."""

from __future__ import annotations

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
        checkpoint_every=config.checkpoint_every, log=log, spectra=spectra,
    )
    model.save(config.output_model)
    log(f"model written to {config.output_model}")
    errors = {}
    for name, source in config.phonons.items():
        reference = load_reference(source, root)
        errors[name] = frequency_errors(model, reference, commensurate_qpoints(reference))
        log(f"{name}: phonon frequency error vs DFT (commensurate q) {errors[name]}")
    return model, history, errors
