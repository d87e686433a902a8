"""What every energy model provides, and the file format models are saved in.

File format (``.npz``, written atomically): one entry ``__model__`` holding a JSON document
``{"model": <class name>, "format": 1, "config": {...hyper-parameters...}}`` and one entry per
parameter array, named by its path in the parameter tree (``layers/0/radial/1``; dict keys and
list indices joined by ``/``; list containers are marked by a ``#`` prefix on the index).
Arrays are stored in float64, or in float32 where asked (``save(path, dtype=np.float32)``: half
the size); they are always loaded as float64. The convolution backend is how a model is evaluated,
not what it is: it is not saved, and loaded models use ``"auto"`` (a ``backend`` stored by older files is ignored).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass, replace
from typing import Any
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ..fileio import atomic_write
from ..graphs.graph import Graph
from ..ops.convolution import BACKENDS

MODEL_CLASSES: dict[str, type] = {}
FORMAT_VERSION = 1


def register_model(name: str):
    """Class decorator: make a model class loadable by name from saved files."""

    def wrap(cls):
        MODEL_CLASSES[name] = cls
        cls.model_name = name
        # a pytree: weights are leaves, hyper-parameters are static, so jitted functions
        # taking a model as an argument compile once per architecture
        jax.tree_util.register_pytree_node(
            cls, lambda m: ((m.params,), m.config), lambda config, leaves: cls(config=config, params=leaves[0])
        )
        return cls

    return wrap


@dataclass(frozen=True)
class EnergyModel:
    """An energy model: ``config`` (hyper-parameters) and ``params`` (weights).

    Subclasses define ``config_class`` (a frozen dataclass of hyper-parameters),
    ``init_params(config, key)`` and ``energy_function(config, params, graph) -> (n_nodes,)``
    atomic energies in eV (a pure, jit-able function, as static methods); ``config`` has
    ``species``, ``cutoff`` (Å) and ``num_layers`` (message-passing steps, the receptive
    field in hops).
    """

    config: Any
    params: dict
    model_name = "?"
    evaluates_edge_groups = True
    """Whether ``energy_function`` evaluates a graph's edge groups apart (``graphs.graph.edge_groups``
    through ``layers.edge_features`` and ``layers.convolution``), so that Hessian-vector products may
    move a few atoms' edges into a group of their own (``derivatives.hessian_products``)."""

    def apply(self, params: dict, graph: Graph) -> jnp.ndarray:
        """(n_nodes,) atomic energies in eV for weights ``params`` (pure in ``params`` and ``graph``)."""
        return type(self).energy_function(self.config, params, graph)

    @property
    def species(self) -> tuple[str, ...]:
        return tuple(self.config.species)

    @property
    def elements_text(self) -> str:
        """The model's elements for logs and titles: "elements Si O" up to 8, else "89 elements (H–Pu)"."""
        s = self.species
        return "elements " + " ".join(s) if len(s) <= 8 else f"{len(s)} elements ({s[0]}–{s[-1]})"

    def describe(self) -> str:
        """One line: class, elements, cutoff and layers."""
        return f"{self.model_name}, {self.elements_text}, cutoff {self.cutoff:g} Å, {self.num_layers} layers"

    @property
    def cutoff(self) -> float:
        return float(self.config.cutoff)

    @property
    def num_layers(self) -> int:
        return int(self.config.num_layers)

    def node_energies(self, graph: Graph) -> jnp.ndarray:
        """(n_nodes,) atomic energies in eV."""
        return self.apply(self.params, graph)

    def energy(self, graph: Graph) -> jnp.ndarray:
        """Σ_k energy_weights_k · ε_k in eV."""
        return jnp.dot(graph.energy_weights, self.apply(self.params, graph))

    @classmethod
    def init(cls, species, *, seed: int = 0, **hyper) -> "EnergyModel":
        """Random weights. ``species``: element symbols; other keywords: fields of ``config_class``."""
        config = cls.config_from_dict({**hyper, "species": species})
        return cls(config=config, params=cls.init_params(config, jax.random.PRNGKey(seed)))

    def with_params(self, params) -> "EnergyModel":
        return replace(self, params=params)

    def with_backend(self, backend: str) -> "EnergyModel":
        """The same model and weights evaluated by another convolution backend ("auto", "e3nn" or
        "fused", see :func:`phonax_fast.ops.convolution.resolve_backend`)."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown convolution backend {backend!r}; available: {BACKENDS}")
        return replace(self, config=replace(self.config, backend=backend))

    @classmethod
    def config_from_dict(cls, d: dict):
        """Hyper-parameters from a dict (lists become tuples, as the frozen config needs)."""
        return cls.config_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def config_dict(self) -> dict:
        """The hyper-parameters that define the model (the evaluation backend is not one of them)."""
        config = asdict(self.config)
        config.pop("backend", None)
        return config

    def save(self, path, dtype=np.float64) -> None:
        """Write the model to ``path`` (.npz, see module docstring), atomically, with the weights
        stored as ``dtype`` (``np.float64`` or ``np.float32``)."""
        if np.dtype(dtype) not in (np.float64, np.float32):
            raise ValueError(f"weights are stored as float64 or float32, not {np.dtype(dtype)}")
        header = {"model": self.model_name, "format": FORMAT_VERSION, "config": self.config_dict()}
        arrays = {"__model__": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}
        arrays.update({k: np.asarray(v, dtype=dtype) for k, v in _flatten(self.params).items()})
        atomic_write(Path(path), lambda f: np.savez(f, **arrays))


def load_file(path) -> EnergyModel:
    """Read a model written by :meth:`EnergyModel.save`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:  # pickled objects are never loaded (allow_pickle=False): a model file holds arrays only
        with np.load(path, allow_pickle=False) as data:
            if "__model__" not in data:
                raise ValueError("no __model__ entry")
            header = json.loads(bytes(data["__model__"]).decode())
            arrays = {k: jnp.asarray(data[k], dtype=jnp.float64) for k in data.files if k != "__model__"}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as err:
        reason = "not a zip archive of arrays" if "pickled" in str(err) or isinstance(err, zipfile.BadZipFile) else err
        raise ValueError(f"{path} is not a phonax_fast model file that can be read ({reason}); was it truncated "
                         "or is it another kind of file?") from None
    if header.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported model file format {header.get('format')}")
    cls = MODEL_CLASSES.get(header["model"])
    if cls is None:
        raise ValueError(f"{path}: unknown model class {header['model']!r}; known: {sorted(MODEL_CLASSES)}")
    config = {k: v for k, v in header["config"].items() if k != "backend"}
    return cls(config=cls.config_from_dict(config), params=_unflatten(arrays))


def _flatten(tree, prefix="") -> dict:
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}{k}/"))
        return out
    if isinstance(tree, (list, tuple)):
        out = {}
        for k, v in enumerate(tree):
            out.update(_flatten(v, f"{prefix}#{k}/"))
        return out
    return {prefix[:-1]: tree}


def _unflatten(arrays: dict):
    root: dict = {}
    for key, value in arrays.items():
        node = root
        parts = key.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    if not isinstance(node, dict):
        return node
    if node and all(k.startswith("#") for k in node):
        return [_lists(node[f"#{i}"]) for i in range(len(node))]
    return {k: _lists(v) for k, v in node.items()}


