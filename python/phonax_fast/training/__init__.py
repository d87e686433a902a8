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
    read_npz,
    read_orca_hess,
    read_phonopy,
    write_extxyz,
)
from .losses import (
    LOSS_TERMS,
    SpectrumTarget,
    bloch_projector,
    predict,
    spectra_loss,
    spectrum_loss,
    spectrum_target,
    total_loss,
)
from .metrics import evaluate, frequency_errors, spectrum_errors
from .trainer import OptimConfig, train

__all__ = [
    "LOSS_TERMS",
    "Batch",
    "Batcher",
    "OptimConfig",
    "Sample",
    "SpectrumTarget",
    "bloch_projector",
    "evaluate",
    "frequency_errors",
    "phonopy_force_samples",
    "phonopy_hessian_sample",
    "predict",
    "read_extxyz",
    "read_npz",
    "read_orca_hess",
    "read_phonopy",
    "spectra_loss",
    "spectrum_errors",
    "spectrum_loss",
    "spectrum_target",
    "total_loss",
    "train",
    "write_extxyz",
]
