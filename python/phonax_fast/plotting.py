"""Figures of phonon bands, densities of states, molecular stick spectra and IR/Raman spectra.

The one plotting module of the package. It builds ``matplotlib.figure.Figure`` objects directly
(no pyplot, no global backend selection: importing phonax_fast leaves a notebook's or the user's
backend alone) and writes them atomically. Inputs are plain arrays or duck-typed result objects,
so this module depends on nothing above ``fileio``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .fileio import atomic_write


def plot_band_structure(bands, dos=None, title: str | None = None) -> Figure:
    """Figure of a band structure, with the DOS beside it when ``dos = (frequencies, values)``.

    ``bands``: a ``phonons.BandStructure`` (``distances`` (n_q,), ``frequencies`` (n_q, 3N) in
    ``unit``, ``labels`` [(distance, label)], ``path.segments``).
    """
    if dos is None:
        fig = Figure(figsize=(6, 4.5))
        ax = fig.subplots()
    else:
        fig = Figure(figsize=(7.5, 4.5))
        ax, ax_dos = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [4, 1]})
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
        ax_dos.set_xlabel(f"DOS (states/{bands.unit}/cell)")
        ax_dos.set_xlim(left=0)
    fig.tight_layout()
    return fig


def plot_dos(frequencies, dos, unit: str = "THz", title: str | None = None) -> Figure:
    """Figure of a density of states: ``frequencies`` (n,) in ``unit``, ``dos`` (n,) states/unit/cell."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(frequencies, dos, color="C1")
    ax.fill_between(frequencies, 0, dos, color="C1", alpha=0.3)
    ax.set_xlabel(f"frequency ({unit})")
    ax.set_ylabel(f"DOS (states/{unit}/cell)")
    ax.set_ylim(bottom=0)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_stick_spectrum(vib, title: str | None = None) -> Figure:
    """Figure with one stick per degenerate set of molecular vibrations, height = degeneracy.

    ``vib``: a ``vibrations.Vibrations``. Upper panel: IR-active sets; lower panel: Raman-active
    sets; inactive sets are drawn grey and dashed in both. Each active stick is annotated with its
    irrep; labels of sticks closer than 3 % of the frequency range are stacked at three heights so
    they do not overlap. Frequencies in cm⁻¹ (imaginary ones at negative positions). No
    intensities: activity comes from symmetry only.
    """
    fig = Figure(figsize=(7, 4.5))
    axes = fig.subplots(2, 1, sharex=True)
    freqs = vib.frequencies_cm1
    gap = 0.03 * max(float(np.ptp(freqs)), 1.0)
    for ax, active, name, color in ((axes[0], vib.ir_active, "IR", "C3"), (axes[1], vib.raman_active, "Raman", "C0")):
        sets = sorted(vib.degenerate_sets, key=lambda s: float(np.mean(freqs[s])))
        last, level = -np.inf, 0
        for s in sets:
            nu, height = float(np.mean(freqs[s])), len(s)
            if active[s[0]]:
                level = (level + 1) % 3 if nu - last < gap else 0
                last = nu
                ax.vlines(nu, 0, height, color=color, lw=2)
                ax.annotate(vib.irreps[s[0]], (nu, height), textcoords="offset points", xytext=(0, 2 + 9 * level),
                            ha="center", fontsize=7)
            else:
                ax.vlines(nu, 0, height, color="0.6", lw=1, ls="--")
        ax.set_ylabel(f"{name}\n(degeneracy)")
        ax.set_ylim(0, 3.8)
        ax.axvline(0.0, color="0.5", lw=0.6)
    axes[1].set_xlabel("frequency (cm$^{-1}$; negative: imaginary)")
    axes[0].set_title(title or f"{vib.atoms.get_chemical_formula()} ({vib.point_group})")
    fig.tight_layout()
    return fig


def plot_ir_raman_spectrum(vib, fwhm: float = 10.0, title: str | None = None) -> Figure:
    """Figure of Lorentzian-broadened IR and Raman spectra of molecular vibrations.

    ``vib``: a ``vibrations.Vibrations`` with intensities (a field model; ``vib.spectra(fwhm)``
    gives the curves: each line has area = its IR intensity in km/mol or Raman activity in Å⁴/amu
    and full width at half maximum ``fwhm`` cm⁻¹). Upper panel IR, lower panel Raman (when the
    polarizability derivatives are there). Thin sticks mark the modes, scaled to the peak height of
    an isolated line, 2·I/(π·fwhm). Frequencies in cm⁻¹ (imaginary ones at negative positions).
    """
    grid, ir, raman = vib.spectra(fwhm)
    panels = [(ir, vib.ir_intensities, "IR (km/mol/cm$^{-1}$)", "C3")]
    if raman is not None:
        panels.append((raman, vib.raman_activities, "Raman (Å$^4$/amu/cm$^{-1}$)", "C0"))
    fig = Figure(figsize=(7, 2.4 * len(panels) + 0.6))
    axes = np.atleast_1d(fig.subplots(len(panels), 1, sharex=True))
    keep = ~np.asarray(vib.zero_modes)
    freqs = np.asarray(vib.frequencies_cm1)[keep]
    for ax, (curve, sticks, label, color) in zip(axes, panels):
        ax.plot(grid, curve, color=color, lw=1.2)
        ax.fill_between(grid, 0, curve, color=color, alpha=0.2)
        ax.vlines(freqs, 0, 2 * np.asarray(sticks)[keep] / (np.pi * fwhm), color=color, lw=0.8, alpha=0.7)
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.set_xlim(grid[0], grid[-1])
    axes[-1].set_xlabel(f"frequency (cm$^{{-1}}$; FWHM {fwhm:g} cm$^{{-1}}$)")
    axes[0].set_title(title or f"{vib.atoms.get_chemical_formula()} ({vib.point_group})")
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path) -> None:
    """Save ``fig`` to ``path`` atomically (format from the suffix, e.g. .png or .pdf; 150 dpi)."""
    path = Path(path)
    atomic_write(path, lambda f: fig.savefig(f, format=path.suffix.lstrip(".") or "png", dpi=150))


__all__ = ["plot_band_structure", "plot_dos", "plot_ir_raman_spectrum", "plot_stick_spectrum", "save_figure"]
