"""Training configuration files (YAML) and running them.

Example (every key but ``model`` and ``data.train`` is optional)::

    model:                      # a new model (class name + its hyper-parameters) …
      name: NequIP
      species: [Si]
      cutoff: 4.5
      num_layers: 2
      seed: 0
    # init_from: start.npz      # … or the weights of a saved model
    data:
      root: phonopy-sdist       # folder that relative data paths refer to; default: the config's folder.
                                # "phonopy-sdist" stands for phonopy's extracted source distribution, a
                                # folder the caller supplies (from_file(..., data_root=DIR)); nothing is downloaded
      train:
        - phonopy: example/Si-gruneisen/orig/POSCAR-unitcell
          force_sets: example/Si-gruneisen/orig/FORCE_SETS
          supercell_matrix: [2, 2, 2]
          hessian: false        # also the perfect supercell with the force constants as Hessian labels
          # born: BORN          # polar crystals: also the primitive cell labelled with the BORN file's
                                # Born charges and polarizability (e·Å²/V, from ε∞), for field models
        - extxyz: more.xyz      # energies, forces, stress; Hessians in info["hessian"] (eV/Å², 3N×3N);
                                # for field models (FieldNequIP or FieldMACE, field_order: 0/1/2,
                                # field_coupling: layers/readout) also
                                # info["field"] (V/Å), info["dipole"], info["polarizability"] and
                                # arrays["born_charges"] (see data.FIELD_LABELS)
        - npz: molecules.npz    # numbers, positions[, energy, forces, hessian] (see data.read_npz)
          energy_unit: hartree  # eV (default), hartree or kcal/mol
          length_unit: bohr     # angstrom (default) or bohr
        - orca_hess: water.hess # ORCA's .hess: a molecule with its Hessian (Hartree/bohr² → eV/Å²)
      valid: []
    phonons:                    # DFT phonopy data to compare phonon frequencies with after training
      Si: {phonopy: …, force_sets: …, supercell_matrix: [2, 2, 2]}
    spectra:                    # reference vibrational spectra of molecules for the spectrum loss
      - orca_hess: benzene.hess # any source above whose structures carry a Hessian: the sorted
                                # vibrational eigenvalues at that geometry are the target
      - npz: toluene.npz        # or an .npz with numbers, positions and eigenvalues (eV/(Å²·amu))
                                # or frequencies_cm1 (3N−6 values) instead of a Hessian
    loss_weights: {energy: 1.0, forces: 10.0, stress: 0.0, hessian: 0.0, spectrum: 0.0}
    batch_size: 4
    epochs: 100
    seed: 0
    hessian_projections: 4      # 0: full Hessians
    optimizer: {optimizer: adamw, learning_rate: 0.005, schedule: cosine, ema_decay: 0.99}
    valid_every: 10
    checkpoint_every: 10
    output: {model: model.npz, checkpoint: checkpoint.npz}   # relative to the config's folder

Loss weights multiply mean squares in the labels' units (see ``losses``): energy (eV/atom)², forces
(eV/Å)², stress (eV/Å³)², hessian (eV/Å²)², spectrum (eV/(Å²·amu))², and for field models dipole
(e·Å)², polarizability (e·Å²/V)², born_charges e². The spectrum term is the mean
over the ``spectra`` molecules of the mean squared difference of sorted vibrational eigenvalues
(model at the reference geometry, 3N−6 Hessian-vector products per molecule and step); with
``spectra`` but no spectrum weight, the spectra are only reported (frequency MAE in cm⁻¹).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from ase import Atoms

from ..units import CM1_PER_THZ, THZ_PER_SQRT_EV_A2_AMU, length_factor
from .data import (
    Sample,
    load_phonopy,
    read_extxyz,
    read_npz,
    read_orca_hess,
    read_phonopy,
)
from .trainer import OptimConfig

PHONOPY_SDIST = "phonopy-sdist"
_SOURCE_KEYS = {
    "phonopy": {"force_sets", "supercell_matrix", "hessian", "born"},
    "extxyz": {"index", "hessian_key"},
    "npz": {"energy_unit", "length_unit"},
    "orca_hess": set(),
}


@dataclass(frozen=True)
class TrainConfig:
    """A parsed training configuration (see the module docstring for the file format)."""

    model: dict | None
    init_from: Path | None
    data_root: Path | str
    train: list
    valid: list = field(default_factory=list)
    phonons: dict = field(default_factory=dict)
    spectra: list = field(default_factory=list)
    loss_weights: dict = field(default_factory=lambda: {"energy": 1.0, "forces": 10.0})
    batch_size: int = 4
    epochs: int = 100
    seed: int = 0
    hessian_projections: int = 4
    optimizer: OptimConfig = field(default_factory=OptimConfig)
    valid_every: int = 10
    checkpoint_every: int = 10
    output_model: Path = Path("model.npz")
    checkpoint: Path | None = Path("checkpoint.npz")

    @classmethod
    def from_file(cls, path, data_root=None) -> TrainConfig:
        """Read a YAML configuration; ``data_root`` (a folder) replaces its ``data.root`` (see :meth:`from_dict`)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no training configuration at {path}")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ValueError(f"cannot parse the training configuration {path}: {' '.join(str(err).split())}") from None
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: a training configuration is a mapping of keys (model, data, …), not {type(raw).__name__}")
        return cls.from_dict(raw, path.parent, data_root)

    @classmethod
    def from_dict(cls, raw: dict, base: Path, data_root=None) -> TrainConfig:
        """Parse a configuration dict; relative output paths are taken relative to ``base``.

        ``data_root``: the folder relative data paths refer to, replacing ``data.root`` (which is
        taken relative to ``base``); needed where ``data.root`` is ``"phonopy-sdist"``."""
        known = {"model", "init_from", "data", "phonons", "spectra", "loss_weights", "batch_size", "epochs", "seed",
                 "hessian_projections", "optimizer", "valid_every", "checkpoint_every", "output"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown configuration keys {sorted(unknown)}; known: {sorted(known)}")
        if ("model" in raw) == ("init_from" in raw):
            raise ValueError("give exactly one of 'model' (a new model) and 'init_from' (a saved model file)")
        _check_types(raw)
        data = raw.get("data") or {}
        if not data.get("train"):
            raise ValueError("the configuration needs data.train: a list of data sources")
        if data_root is not None:
            data_root = Path(data_root)
        else:
            root = data.get("root")
            data_root = PHONOPY_SDIST if root == PHONOPY_SDIST else base / (root or ".")
        spectra = list(raw.get("spectra") or [])
        for source in [*data["train"], *data.get("valid", []), *(raw.get("phonons") or {}).values(), *spectra]:
            _check_source(source)
        weights = raw.get("loss_weights") or {}
        if weights.get("spectrum") and not spectra:
            raise ValueError("loss_weights.spectrum needs reference spectra: a 'spectra' list of data sources")
        output = raw.get("output") or {}
        checkpoint = output.get("checkpoint", "checkpoint.npz")
        scalars = {k: raw[k] for k in ("loss_weights", "batch_size", "epochs", "seed", "hessian_projections",
                                        "valid_every", "checkpoint_every") if k in raw}
        return cls(
            model=raw.get("model"),
            init_from=base / raw["init_from"] if "init_from" in raw else None,
            data_root=data_root,
            train=list(data["train"]),
            valid=list(data.get("valid") or []),
            phonons=dict(raw.get("phonons") or {}),
            spectra=spectra,
            optimizer=OptimConfig(**(raw.get("optimizer") or {})),
            output_model=base / output.get("model", "model.npz"),
            checkpoint=base / checkpoint if checkpoint else None,
            **scalars,
        )

    def root(self) -> Path:
        """The folder relative data paths refer to.

        Raises:
            ValueError: ``data.root`` is ``"phonopy-sdist"`` and no folder was supplied for it, or the
                folder does not exist.
        """
        if self.data_root == PHONOPY_SDIST:
            raise ValueError(
                f"data.root is {PHONOPY_SDIST!r}: phonopy's source distribution, which phonax_fast does not "
                "download. Give its extracted folder (phonopy-X.Y.Z, with example/ and test/) as the data root: "
                "TrainConfig.from_file(config, data_root=DIR), or a path in data.root (in a source checkout, "
                "`python -m studies.phonopy_sdist` fetches it)"
            )
        root = Path(self.data_root)
        if not root.is_dir():
            raise ValueError(f"the data root {root} (data.root: the folder relative data paths refer to) is not a folder")
        return root


_INTEGERS = {"batch_size": 1, "epochs": 1, "seed": None, "hessian_projections": 0, "valid_every": 1,
             "checkpoint_every": 1}  # key: smallest allowed value (None: any integer)
_MAPPINGS = ("data", "phonons", "loss_weights", "optimizer", "output")


def _check_types(raw: dict) -> None:
    """ValueError naming the key whose value has the wrong type (``epochs: banana``, a data source
    list given as a string, …), before anything is read."""
    for key, smallest in _INTEGERS.items():
        value = raw.get(key)
        if key in raw and (isinstance(value, bool) or not isinstance(value, int) or (smallest is not None and value < smallest)):
            bound = f" ≥ {smallest}" if smallest is not None else ""
            raise ValueError(f"{key} must be an integer{bound}; got {value!r}")
    for key in _MAPPINGS:
        if raw.get(key) is not None and not isinstance(raw[key], dict):
            raise ValueError(f"{key} must be a mapping (key: value lines below it); got {raw[key]!r}")
    for key, value in (raw.get("loss_weights") or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"loss_weights.{key} must be a number ≥ 0; got {value!r}")
    data = raw.get("data") or {}
    for key in ("train", "valid"):
        if data.get(key) is not None and not isinstance(data[key], list):
            raise ValueError(f"data.{key} must be a list of data sources (lines starting with '- '); got {data[key]!r}")
    if raw.get("spectra") is not None and not isinstance(raw["spectra"], list):
        raise ValueError(f"spectra must be a list of data sources; got {raw['spectra']!r}")
    for source in [*(data.get("train") or []), *(data.get("valid") or []), *(raw.get("spectra") or []),
                   *(raw.get("phonons") or {}).values()]:
        if not isinstance(source, dict):
            raise ValueError(f"a data source is a mapping such as {{extxyz: file.xyz}}; got {source!r}")


def _check_source(source: dict) -> None:
    if not isinstance(source, dict):
        raise TypeError(f"a data source is a mapping like {{extxyz: file.xyz}}, got {source!r}")
    kinds = [k for k in _SOURCE_KEYS if k in source]
    if len(kinds) != 1:
        raise ValueError(f"a data source needs exactly one of {sorted(_SOURCE_KEYS)}; got {source}")
    extra = set(source) - {kinds[0]} - _SOURCE_KEYS[kinds[0]]
    if extra:
        raise ValueError(f"unknown keys {sorted(extra)} in {kinds[0]} data source {source}")


def _path(root: Path, value) -> Path | None:
    return None if value is None else root / value


def read_source(source: dict, root: Path) -> list[Sample]:
    """The samples of one data source (a dict of the configuration's ``data`` lists)."""
    _check_source(source)
    if "extxyz" in source:
        return read_extxyz(root / source["extxyz"], source.get("index", ":"), source.get("hessian_key", "hessian"))
    if "npz" in source:
        return read_npz(root / source["npz"], energy_unit=source.get("energy_unit", "eV"),
                        length_unit=source.get("length_unit", "angstrom"))
    if "orca_hess" in source:
        return [read_orca_hess(root / source["orca_hess"])]
    return read_phonopy(root / source["phonopy"], force_sets=_path(root, source.get("force_sets")),
                        supercell_matrix=source.get("supercell_matrix"), hessian=bool(source.get("hessian", False)),
                        born=_path(root, source.get("born")))


SPECTRUM_KEYS = ("eigenvalues", "frequencies_cm1")


def read_spectrum_source(source: dict, root: Path) -> list[tuple]:
    """[(molecule, reference)] of one ``spectra`` entry: ``reference`` is a (N, 3, N, 3) Hessian in
    eV/Å² or, for an ``.npz`` with ``eigenvalues`` (eV/(Å²·amu)) or ``frequencies_cm1``, the sorted
    vibrational eigenvalues (see :func:`~phonax_fast.training.losses.spectrum_target`)."""
    _check_source(source)
    if "npz" in source:
        path = root / source["npz"]
        with np.load(path, allow_pickle=False) as z:
            found = [k for k in SPECTRUM_KEYS if k in z.files]
            if found:
                return [_spectrum_npz(path, {k: np.asarray(z[k]) for k in z.files}, found, source)]
    if "phonopy" in source:
        raise ValueError(f"spectrum references are molecules (extxyz, npz, orca_hess), got {source}")
    samples = read_source(source, root)
    if any(s.hessian is None for s in samples):
        raise ValueError(f"spectrum reference {source} has structures without a Hessian (or eigenvalues)")
    return [(s.atoms, s.hessian) for s in samples]


def _spectrum_npz(path, data: dict, found: list, source: dict):
    if len(found) > 1:
        raise ValueError(f"{path}: give one of {SPECTRUM_KEYS}, not both")
    if "numbers" not in data or "positions" not in data:
        raise ValueError(f"{path}: a spectrum reference needs numbers and positions besides {found[0]}")
    unknown = set(data) - {"numbers", "positions", "masses", *SPECTRUM_KEYS}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)} in a spectrum reference")
    length = length_factor(source.get("length_unit", "angstrom"))
    atoms = Atoms(numbers=data["numbers"].astype(int), positions=np.asarray(data["positions"], float) * length)
    if "masses" in data:
        atoms.set_masses(data["masses"])
    values = np.asarray(data[found[0]], dtype=float)
    if found[0] == "frequencies_cm1":  # ν = sign(λ)√|λ|: back to eigenvalues
        thz = values / CM1_PER_THZ / THZ_PER_SQRT_EV_A2_AMU
        values = np.sign(thz) * thz**2
    return atoms, np.sort(values)


def load_reference(source: dict, root: Path):
    """A ``phonopy.Phonopy`` with force constants produced from a phonopy data source."""
    _check_source(source)
    if "phonopy" not in source:
        raise ValueError(f"phonon references must be phonopy data sources, got {source}")
    phonon = load_phonopy(root / source["phonopy"], force_sets=_path(root, source.get("force_sets")),
                          supercell_matrix=source.get("supercell_matrix"))
    phonon.produce_force_constants()
    return phonon

