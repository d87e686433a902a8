"""Stick spectrum of molecular vibrations (matplotlib, Agg)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def plot_stick_spectrum(vib, title: str | None = None):
    """Figure with one stick per degenerate set of vibrations, height = degeneracy.

    Upper panel: IR-active sets; lower panel: Raman-active sets; inactive sets are drawn grey
    and dashed in both. Each active stick is annotated with its irrep. Frequencies in cm⁻¹
    (imaginary ones at negative positions). No intensities: activity comes from symmetry only.
    """
    fig, axes = plt.subplots(2, 1, figsize=(7, 4.5), sharex=True)
    freqs = vib.frequencies_cm1
    for ax, active, name, color in ((axes[0], vib.ir_active, "IR", "C3"), (axes[1], vib.raman_active, "Raman", "C0")):
        for s in vib.degenerate_sets:
            nu, height = float(np.mean(freqs[s])), len(s)
            if active[s[0]]:
                ax.vlines(nu, 0, height, color=color, lw=2)
                ax.annotate(vib.irreps[s[0]], (nu, height), textcoords="offset points", xytext=(0, 2), ha="center", fontsize=7)
            else:
                ax.vlines(nu, 0, height, color="0.6", lw=1, ls="--")
        ax.set_ylabel(f"{name}\n(degeneracy)")
        ax.set_ylim(0, 3.8)
        ax.axvline(0.0, color="0.5", lw=0.6)
    axes[1].set_xlabel("frequency (cm$^{-1}$; negative: imaginary)")
    axes[0].set_title(title or f"{vib.atoms.get_chemical_formula()} ({vib.point_group})")
    fig.tight_layout()
    return fig
