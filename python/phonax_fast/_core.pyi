"""
Native kernels of phonax_fast: XLA FFI handlers exported as capsules.
"""
from __future__ import annotations
__all__: list[str] = ['build_info', 'registrations']
def build_info() -> dict:
    """
    What this build holds: {'version': str, 'backends': [str], 'cuda': bool}.
    """
def registrations() -> dict:
    """
    FFI handlers by platform: {'cpu': {target: capsule}, 'cuda': {...}}.
    """
