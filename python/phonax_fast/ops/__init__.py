"""Message-passing operations shared by the models, with interchangeable backends."""

from .convolution import BACKENDS, tp_convolution

__all__ = ["BACKENDS", "tp_convolution"]
