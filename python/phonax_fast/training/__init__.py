"""Training energy models on energies, forces, stress, Hessians and vibrational spectra.

Data (``data``) → padded batches (``batching``) → losses (``losses``) → optax loop (``trainer``);
``config``/``run`` drive it from a YAML file (``phonax-fast train CONFIG.yaml``).
"""

from .batching import Batch, Batcher
from .data import (
    Sample,
    phonopy_force_samples,
    phonopy_hessian_sample,
    read_extxyz,
    read_phonopy,
)
from .losses import LOSS_TERMS, bloch_projector, predict, spectrum_loss, total_loss
from .metrics import evaluate, frequency_errors
from .trainer import OptimConfig, train

__all__ = [
    "LOSS_TERMS",
    "Batch",
    "Batcher",
    "OptimConfig",
    "Sample",
    "bloch_projector",
    "evaluate",
    "frequency_errors",
    "phonopy_force_samples",
    "phonopy_hessian_sample",
    "predict",
    "read_extxyz",
    "read_phonopy",
    "spectrum_loss",
    "total_loss",
    "train",
]
