"""Reader of nequix checkpoints (``.nqx``, nequix's ``save_model``) with numpy only.

A ``.nqx`` file is one line of JSON (the training configuration, model hyper-parameters among
its keys), then the model's array leaves in equinox's ``tree_serialise_leaves`` order, each
written by ``np.save``: ``atom_energies``; per layer the radial MLP matrices, the e3nn linear maps
``linear_1``, ``linear_2`` and ``skip`` (each a dict of weights ``"w[i,j] <mul_in x ir>,<mul_out x ir>"``,
flattened in sorted key order) and the layer-norm weights; then the readout. Like nequix's own
reader, anything after the model's leaves is ignored (some published files carry the
configuration's values or a newline there). Weights are returned in float64.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
from ase.data import chemical_symbols

from .nequix import Nequix, NequixConfig, init_params, layer_irreps

# configuration keys of a .nqx file -> NequixConfig fields
CONFIG_KEYS = {
    "cutoff": "cutoff",
    "n_layers": "num_layers",
    "lmax": "lmax",
    "hidden_irreps": "hidden_irreps",
    "radial_basis_size": "num_basis",
    "radial_mlp_size": "radial_mlp_size",
    "radial_mlp_layers": "radial_mlp_layers",
    "radial_polynomial_p": "cutoff_power",
    "index_weights": "index_weights",
    "layer_norm": "layer_norm",
    "avg_n_neighbors": "avg_num_neighbors",
    "scale": "scale",
    "shift": "shift",
}


def read_nequix_checkpoint(path) -> Nequix:
    """The :class:`~.nequix.Nequix` model (float64 weights) of the nequix checkpoint at ``path``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not a nequix checkpoint, truncated or corrupt, or a configuration this
            implementation does not support.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no nequix checkpoint at {path}")
    head, _, body = path.read_bytes().partition(b"\n")
    try:
        header = json.loads(head.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict):
        raise ValueError(f"{path} is not a nequix checkpoint: its first line is not a JSON configuration")
    config = nequix_config(header, path)
    return Nequix(config=config, params=_read_params(io.BytesIO(body), config, path))


def nequix_config(header: dict, path="checkpoint") -> NequixConfig:
    """The :class:`~.nequix.NequixConfig` of a checkpoint's configuration line (species ordered by atomic number)."""
    missing = sorted(k for k in ["atomic_numbers", *CONFIG_KEYS] if k not in header)
    if missing:
        raise ValueError(f"{path}: the nequix configuration lacks {', '.join(missing)}")
    numbers = header["atomic_numbers"]
    if (not isinstance(numbers, list) or not numbers or len(set(numbers)) != len(numbers)
            or not all(isinstance(z, int) and 0 < z < len(chemical_symbols) for z in numbers)):
        raise ValueError(f"{path}: atomic_numbers must be distinct atomic numbers, got {numbers!r}")
    try:
        return NequixConfig(species=tuple(chemical_symbols[z] for z in sorted(numbers)),
                            **{field: header[key] for key, field in CONFIG_KEYS.items()})
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path}: unsupported nequix configuration: {err}") from None


def _linear_paths(prefix: tuple, weights: dict, irreps_in, irreps_out) -> list[tuple]:
    """Parameter paths of one linear map (keys "i->j") in the order equinox stores e3nn's weights."""
    irreps_in, irreps_out = e3nn.Irreps(irreps_in), e3nn.Irreps(irreps_out)

    def e3nn_name(key):
        i, j = map(int, key.split("->"))
        return f"w[{i},{j}] {irreps_in[i]},{irreps_out[j]}"

    return [prefix + (key,) for key in sorted(weights, key=e3nn_name)]


def leaf_paths(config: NequixConfig, template: dict) -> list[tuple]:
    """Paths into the parameter tree (``template``: :func:`~.nequix.init_params`' structure) of
    the checkpoint's leaves, in file order."""
    paths = [("atom_energies",)]
    for t, (layer, (irreps_in, message, gate_in, _)) in enumerate(zip(template["layers"], layer_irreps(config))):
        base = ("layers", t)
        paths += [base + ("radial", k) for k in range(len(layer["radial"]))]
        paths += _linear_paths(base + ("linear_1",), layer["linear_1"], irreps_in, irreps_in)
        paths += _linear_paths(base + ("linear_2",), layer["linear_2"], message, gate_in)
        paths += _linear_paths(base + ("skip",), layer["skip"], irreps_in, gate_in)
        paths += [base + ("layer_norm", k) for k in range(len(layer.get("layer_norm", [])))]
    hidden_scalars = e3nn.Irreps(config.hidden_irreps).filter("0e")
    return paths + _linear_paths(("readout",), template["readout"], hidden_scalars, "0e")


def _read_params(stream: io.BytesIO, config: NequixConfig, path) -> dict:
    """The parameter tree from the checkpoint's array records, checked against ``config``'s shapes."""
    template = init_params(config, jax.random.PRNGKey(0))  # the structure and shapes
    leaves = {}
    for n, where in enumerate(paths := leaf_paths(config, template)):
        expected = _get(template, where).shape
        try:
            array = np.lib.format.read_array(stream, allow_pickle=False)
        except (ValueError, EOFError, OSError) as err:
            raise ValueError(f"{path} is truncated or corrupt: array {n + 1} of {len(paths)} "
                             f"({'/'.join(map(str, where))}) cannot be read ({err})") from None
        if array.shape != expected or array.dtype.kind != "f":
            raise ValueError(f"{path} is corrupt or inconsistent with its configuration: array {n + 1} "
                             f"({'/'.join(map(str, where))}) is {array.dtype}{list(array.shape)}, "
                             f"expected float{list(expected)}")
        leaves[where] = jnp.asarray(array, dtype=jnp.float64)
    return jax.tree_util.tree_map_with_path(lambda key, _: leaves[tuple(_key(k) for k in key)], template)


def _get(tree, where: tuple):
    for k in where:
        tree = tree[k]
    return tree


def _key(k):
    return k.key if isinstance(k, jax.tree_util.DictKey) else k.idx
