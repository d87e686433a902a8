"""Models by name: the bundled ones, the SevenNet models converted from the user's ``sevenn``, and
their model cards (what each was trained on, its licence, how to cite it, where it is reliable).

The full cards, with the accuracy tables, are ``models/data/README.md``; :data:`CARDS` holds what
the package itself uses (``phonax-fast info``, and the warnings when a structure is outside a
model's domain).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np

from .base import EnergyModel, load_file
from .nequix_checkpoint import read_nequix_checkpoint
from .sevennet_convert import PRETRAINED as SEVENNET_MODELS
from .sevennet_convert import load_sevennet

DATA = Path(__file__).parent / "data"
BUNDLED = {name: DATA / f"{name}.npz" for name in ("demo", "field-demo", "molecules", "nequix-mp-1-pft",
                                                   "nequix-oam-1-pft")}
DEFAULT = "nequix-oam-1-pft"
"""The model ``"default"`` stands for: the universal model that measured best against DFT phonons
(models/data/README.md)."""


@dataclass(frozen=True)
class ModelCard:
    """What a named model is.

    Attributes:
        name: the name ``load`` takes.
        summary: one line: the architecture.
        training_data: what it was trained on.
        licence: the weights' licence (and where its text is).
        citation: how to cite it.
        domain: compositions it was trained on, as element sets, for models that are reliable only
            there (the demo models); None for universal models (any structure of their elements).
    """

    name: str
    summary: str
    training_data: str
    licence: str
    citation: str
    domain: tuple[frozenset, ...] | None = None


_NEQUIX_CITATION = ("T. Koker, K. Kotak, T. Smidt, arXiv:2508.16067 (2025); phonon fine-tuning: Koker et al., "
                    "arXiv:2601.07742")
_NEQUIX_LICENCE = "MIT (models/data/LICENSE-nequix, © 2025 Teddy Koker)"
_SEVENNET_CITATION = "Y. Park, J. Kim, S. Hwang, S. Han, J. Chem. Theory Comput. 20, 4857 (2024)"
_SEVENNET_LICENCE = "MIT (the sevenn 0.13.0 wheel's LICENSE, © 2024 Yutack Park); not redistributed: converted locally"

CARDS = {card.name: card for card in [
    ModelCard("demo", "NequIP, 2 layers, l_max 1, 16 channels, 4.5 Å",
              "DFT (VASP) displaced-supercell forces of Si, NaCl and MgO from phonopy's source distribution",
              "MIT (this project)", "this project (phonax_fast)",
              domain=(frozenset({"Si"}), frozenset({"Na", "Cl"}), frozenset({"Mg", "O"}))),
    ModelCard("field-demo", "FieldNequIP (electric field to second order), 2 layers, l_max 1, 16 channels, 4.5 Å",
              "DFT (VASP) random-displacement forces, Born charges and ε∞ (BORN file) of NaCl from phonopy's "
              "source distribution", "MIT (this project)", "this project (phonax_fast)",
              domain=(frozenset({"Na", "Cl"}),)),
    ModelCard("molecules", "NequIP, 2 layers, l_max 2, 16 channels, 4.5 Å",
              "GFN2-xTB energies, forces and Hessians of 28 small H/C/N/O molecules (ASE's G2 set)",
              "MIT (this project)", "this project (phonax_fast)"),
    ModelCard("nequix-mp-1-pft", "Nequix, 4 layers, l_max 3, 128x0e+64x1o+32x2e+32x3o, 6 Å",
              "MPtrj (PBE/PBE+U), fine-tuned on the MDR phonon database (PBE) co-trained with MPtrj",
              _NEQUIX_LICENCE, _NEQUIX_CITATION),
    ModelCard("nequix-oam-1-pft", "Nequix, 4 layers, l_max 3, 128x0e+64x1o+32x2e+32x3o, 6 Å",
              "OMat24 + sAlex + MPtrj (PBE/PBE+U), fine-tuned on the MDR phonon database (PBE)",
              _NEQUIX_LICENCE, _NEQUIX_CITATION),
    ModelCard("sevennet-0", "SevenNet (NequIP-like), 5 layers, l_max 2, 128x0e+64x1e+32x2e, 5 Å, 89 elements",
              "MPtrj (PBE/PBE+U)", _SEVENNET_LICENCE, _SEVENNET_CITATION),
    ModelCard("sevennet-l3i5", "SevenNet, 5 layers, l_max 3, 128x0e+64x1e+32x2e+32x3e, 5 Å, 89 elements",
              "MPtrj (PBE/PBE+U)", _SEVENNET_LICENCE, _SEVENNET_CITATION),
    ModelCard("sevennet-mf-0", "SevenNet multi-fidelity, 5 layers, l_max 2, 5 Å, 89 elements; fidelity sevennet-mf-0:PBE or :R2SCAN",
              "Materials Project PBE(+U) and r2SCAN relaxation trajectories", _SEVENNET_LICENCE,
              "J. Kim et al., J. Am. Chem. Soc. 147, 1042 (2025); " + _SEVENNET_CITATION),
]}


def names() -> list[str]:
    """Every name ``load`` takes: ``"default"``, the bundled models, the convertible SevenNet ones."""
    return ["default", *BUNDLED, *SEVENNET_MODELS]


def resolve(name: str) -> str:
    """The model a name stands for (``"default"`` → :data:`DEFAULT`; others unchanged)."""
    return DEFAULT if name == "default" else name


def load(path_or_name, modal: str | None = None) -> EnergyModel:
    """A model by name (:func:`names`; ``"sevennet-mf-0:PBE"`` picks a fidelity, as ``modal`` does)
    or from a file: a phonax_fast model file (.npz) or a nequix checkpoint (.nqx).

    SevenNet models are converted from the installed ``sevenn`` the first time and cached
    (``sevennet_convert.load_sevennet``); nothing is downloaded.
    """
    text = str(path_or_name)
    name, _, fidelity = text.partition(":")
    name = resolve(name.lower()) if not Path(text).exists() else text
    if name in BUNDLED:
        return load_file(BUNDLED[name])
    if name in SEVENNET_MODELS or name.startswith(("sevennet-", "7net-")):
        return load_sevennet(name, modal or fidelity or None)
    if Path(text).suffix == ".nqx":
        return read_nequix_checkpoint(text)
    if not Path(text).exists() and not Path(text).suffix:
        raise ValueError(f"unknown model {text!r}: known models are {names()}, or give a model file (.npz, .nqx)")
    return load_file(text)


def card(name: str) -> ModelCard | None:
    """The model card of a named model (``"default"`` resolved), or None for a file."""
    return CARDS.get(resolve(str(name).lower().partition(":")[0]))


def domain_warning(name: str, atoms) -> str | None:
    """A sentence when ``atoms`` lies outside the domain of a model with a limited one (the demo
    model: only the crystals it was trained on), else None."""
    found = card(name)
    if found is None or found.domain is None:
        return None
    elements = frozenset(atoms.get_chemical_symbols())
    if elements in found.domain:
        return None
    trained = ", ".join("".join(sorted(d)) for d in found.domain)
    return (f"the {found.name} model was trained on {trained} only ({found.training_data}); "
            f"{''.join(sorted(elements))} is outside that domain: its results are not reliable. "
            f"Use a universal model (--model default)")


def file_size(name: str) -> int | None:
    """Bytes of a bundled model's file, or None."""
    path = BUNDLED.get(resolve(name))
    return path.stat().st_size if path is not None else None


def weights_count(model: EnergyModel) -> int:
    """Number of weights of a model."""
    return int(sum(np.size(x) for x in jax.tree_util.tree_leaves(model.params)))
