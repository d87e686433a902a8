"""Plots of band structures and densities of states (matplotlib, written atomically)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..fileio import atomic_write  # noqa: E402
from .bands import BandStructure  # noqa: E402


def plot_band_structure(bands: BandStructure, dos=None, title: str | None = None):
    """Figure of the bands (and the DOS beside them when ``dos = (frequencies, values)`` is given)."""
    if dos is None:
        fig, ax = plt.subplots(figsize=(6, 4.5))
    else:
        fig, (ax, ax_dos) = plt.subplots(1, 2, figsize=(7.5, 4.5), sharey=True, gridspec_kw={"width_ratios": [4, 1]})
    start = 0
    for seg in bands.path.segments:
        stop = start + len(seg)
        ax.plot(bands.distances[start:stop], bands.frequencies[start:stop], color="C0", lw=1.2)
        start = stop
    ticks = bands.labels
    ax.set_xticks([d for d, _ in ticks], [label for _, label in ticks])
    for d, _ in ticks:
        ax.axvline(d, color="0.7", lw=0.6)
    ax.axhline(0.0, color="0.5", lw=0.6, ls="--")
    ax.set_xlim(bands.distances[0], bands.distances[-1])
    ax.set_ylabel(f"frequency ({bands.unit})")
    if title:
        ax.set_title(title)
    if dos is not None:
        freqs, values = dos
        ax_dos.plot(values, freqs, color="C1")
        ax_dos.fill_betweenx(freqs, 0, values, color="C1", alpha=0.3)
        ax_dos.set_xlabel("DOS")
        ax_dos.set_xlim(left=0)
    fig.tight_layout()
    return fig


def plot_dos(frequencies, dos, unit: str = "THz", title: str | None = None):
    """Figure of a density of states (states per unit frequency per unit cell)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(frequencies, dos, color="C1")
    ax.fill_between(frequencies, 0, dos, color="C1", alpha=0.3)
    ax.set_xlabel(f"frequency ({unit})")
    ax.set_ylabel(f"DOS (states/{unit}/cell)")
    ax.set_ylim(bottom=0)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def save_figure(fig, path) -> None:
    """Save ``fig`` to ``path`` (format from the suffix, e.g. .png or .pdf) atomically, then close it."""
    path = Path(path)
    atomic_write(path, lambda f: fig.savefig(f, format=path.suffix.lstrip(".") or "png", dpi=150))
    plt.close(fig)


__all__ = ["plot_band_structure", "plot_dos", "save_figure"]
