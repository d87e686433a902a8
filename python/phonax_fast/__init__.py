"""phonax_fast: phonons and vibrational modes from E(3)-equivariant neural-network potentials.

Importing the package turns on JAX's float64 support (``jax_enable_x64``): force constants and
eigen-solves are done in float64. Models keep the dtype of their parameters.
"""

import jax

jax.config.update("jax_enable_x64", True)

from . import forceconstants, graphs, harmonic, interop, models, units  # noqa: E402
from ._native import build_info  # noqa: E402
from .calculator import Calculator  # noqa: E402
from .phonons import Phonons  # noqa: E402
from .vibrations import Vibrations  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Calculator", "Phonons", "Vibrations", "build_info", "forceconstants", "graphs", "harmonic", "interop", "models", "units"]
