"""Pretrained SevenNet models from the installed ``sevenn`` package: converted once, then cached.

:func:`load_sevennet` returns a :class:`~phonax_fast.models.sevennet.SevenNet` for one of the
checkpoints shipped inside the ``sevenn`` wheel (``PRETRAINED``). The first call converts the
checkpoint (this needs PyTorch and sevenn, imported only then) and writes the result as a
phonax_fast model file (:meth:`EnergyModel.save`, atomically) into the model cache
(:func:`model_cache_dir`); later calls read that file and import neither torch nor sevenn.

The conversion builds sevenn's own torch model from the checkpoint (so sevenn's handling of old
configs applies), in float64, and reads every linear map off it as the matrix it applies (its
response to unit inputs), so e3nn-torch's weight layout and path normalisation need not be
restated. The convolution's per-path constants (e3nn-torch's path weight and Wigner 3j symbol
against e3nn-jax's Clebsch-Gordan block, and the layer's denominator against the model's) and its
weight order are folded into the last layer of the radial MLP. A multi-fidelity model is
converted for one fidelity: the fidelity's one-hot input of a linear map becomes a bias.
Checkpoints that sevenn downloads at run time are not converted (phonax_fast never downloads).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import e3nn_jax as e3nn
import jax.numpy as jnp
import numpy as np

from ..ops.tp_paths import PATH_COLUMNS, path_table
from .base import load_file
from .sevennet import SILU_NORMALIZATION, SevenNet, SevenNetConfig, gate_irreps, kept_irreps, message_irreps

# name -> (constant of sevenn._const holding the checkpoint path inside the wheel, fidelities)
PRETRAINED = {
    "sevennet-0": ("SEVENNET_0_11Jul2024", ()),
    "sevennet-l3i5": ("SEVENNET_l3i5", ()),
    "sevennet-mf-0": ("SEVENNET_MF_0", ("PBE", "R2SCAN")),
}
ALIASES = {"7net-0": "sevennet-0", "sevennet-0_11jul2024": "sevennet-0", "7net-0_11jul2024": "sevennet-0",
           "7net-l3i5": "sevennet-l3i5", "7net-mf-0": "sevennet-mf-0"}
DOWNLOADED = ("omni", "omni-i8", "omni-i12", "mf-ompa", "omat")  # sevenn fetches these at run time
UNSUPPORTED = {"0_22may2024": "the 22 May 2024 SevenNet-0 (superseded by the 11 Jul 2024 one, 'sevennet-0') uses "
                              "unnormalised edge spherical harmonics, which phonax_fast does not implement"}
SEVENN_VERSION = "0.13.0"  # the sevenn release the conversion is checked against (tests/models/test_sevennet.py)
INSTALL_HINT = ("SevenNet models are converted once from the sevenn package, which needs PyTorch: install the "
                "CPU build of torch first (pip install torch==2.13.0 where pip finds CPU wheels, as on these "
                "machines; elsewhere pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu), "
                "then pip install 'phonax_fast[sevennet]'")


def model_cache_dir() -> Path:
    """Where converted models are kept: ``$PHONAX_FAST_MODEL_CACHE``, else
    ``$XDG_CACHE_HOME/phonax_fast/models``, else ``~/.cache/phonax_fast/models``."""
    if os.environ.get("PHONAX_FAST_MODEL_CACHE"):
        return Path(os.environ["PHONAX_FAST_MODEL_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "phonax_fast" / "models"


def resolve_name(name: str, modal: str | None = None) -> tuple[str, str | None]:
    """(canonical name, canonical fidelity or None) of a pretrained SevenNet; clear errors for
    unknown names, checkpoints sevenn downloads, and a missing or unknown fidelity."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in PRETRAINED:
        tail = key.removeprefix("sevennet-").removeprefix("7net-")
        if tail in UNSUPPORTED:
            raise ValueError(f"{name!r} is not supported: {UNSUPPORTED[tail]}")
        if tail in DOWNLOADED:
            raise ValueError(f"{name!r} is not supported: sevenn downloads that checkpoint at run time and phonax_fast "
                             f"converts only the checkpoints shipped inside the sevenn wheel: {sorted(PRETRAINED)}")
        raise ValueError(f"unknown SevenNet model {name!r}; supported: {sorted(PRETRAINED)}")
    fidelities = PRETRAINED[key][1]
    if not fidelities:
        if modal is not None:
            raise ValueError(f"{key} has one fidelity; modal={modal!r} does not apply")
        return key, None
    if modal is None:
        raise ValueError(f"{key} is a multi-fidelity model: choose modal= one of {list(fidelities)} "
                         "(PBE: Materials Project PBE(+U); R2SCAN: Materials Project r2SCAN)")
    match = [f for f in fidelities if f.lower() == modal.lower()]
    if not match:
        raise ValueError(f"unknown modal {modal!r} for {key}; choose one of {list(fidelities)}")
    return key, match[0]


def cached_path(name: str, modal: str | None = None, cache_dir=None) -> Path:
    """The model file :func:`load_sevennet` reads and writes for ``name`` (and ``modal``)."""
    key, fidelity = resolve_name(name, modal)
    stem = key if fidelity is None else f"{key}-{fidelity.lower()}"
    return Path(cache_dir or model_cache_dir()) / f"{stem}.npz"


def load_sevennet(name: str, modal: str | None = None, cache_dir=None) -> SevenNet:
    """A pretrained SevenNet: ``"sevennet-0"`` (SevenNet-0, 11 Jul 2024), ``"sevennet-l3i5"`` or
    ``"sevennet-mf-0"`` with ``modal="PBE"`` or ``"R2SCAN"`` (sevenn's ``7net-…`` names work too).

    Read from the model cache (``cache_dir``, default :func:`model_cache_dir`) when converted
    before; else converted from the installed sevenn (:func:`convert_sevennet`) and cached.
    """
    path = cached_path(name, modal, cache_dir)
    if path.is_file():
        model = load_file(path)
        if not isinstance(model, SevenNet):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a SevenNet; delete it to convert again")
        return model
    model = convert_sevennet(name, modal)
    model.save(path)
    return model


def convert_sevennet(name: str, modal: str | None = None) -> SevenNet:
    """Convert a checkpoint shipped in the installed sevenn wheel (see :func:`load_sevennet` for
    the names) to a :class:`SevenNet`. Needs torch and sevenn."""
    key, fidelity = resolve_name(name, modal)
    torch, sevenn = _import_torch_sevenn()
    from sevenn import _const
    from sevenn.checkpoint import SevenNetCheckpoint

    path = Path(getattr(_const, PRETRAINED[key][0], ""))
    if not path.is_file():
        raise FileNotFoundError(f"the installed sevenn {sevenn.__version__} does not ship {key} ({path}); "
                                f"phonax_fast converts it from sevenn {SEVENN_VERSION}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sevenn's notes on TorchScript and missing accelerators
        torch_model = SevenNetCheckpoint(str(path)).build_model().double().eval()
    with torch.no_grad():
        config, params = _convert(torch, torch_model, fidelity)
    return SevenNet(config=config, params=params)


def _import_torch_sevenn():
    try:
        import torch
        import sevenn
    except ImportError as err:
        raise ImportError(f"{INSTALL_HINT} ({err})") from None
    if sevenn.__version__ != SEVENN_VERSION:
        warnings.warn(f"converting with sevenn {sevenn.__version__}; phonax_fast's conversion is checked against "
                      f"sevenn {SEVENN_VERSION}", stacklevel=3)
    return torch, sevenn


def _convert(torch, model, fidelity: str | None) -> tuple[SevenNetConfig, dict]:
    """(config, params) of sevenn's float64 torch ``model`` (an ``AtomGraphSequential``)."""
    from e3nn import o3
    from sevenn.nn.convolution import IrrepsConvolution
    from sevenn.nn.edge_embedding import BesselBasis, PolynomialCutoff, XPLORCutoff
    from sevenn.nn.self_connection import SelfConnectionLinearIntro

    modules = model._modules
    modal = None
    if model.modal_map:
        if fidelity not in model.modal_map:
            raise ValueError(f"the checkpoint's fidelities are {list(model.modal_map)}, not {fidelity!r}")
        modal = model.modal_map[fidelity]
    num_layers = sum(1 for k in modules if k.endswith("_convolution"))
    _require(num_layers > 0 and all(isinstance(modules[f"{t}_convolution"], IrrepsConvolution) for t in range(num_layers)),
             "an interaction other than NequIP's convolution")
    _require(all(isinstance(modules[f"{t}_self_connection_intro"], SelfConnectionLinearIntro) for t in range(num_layers)),
             "a self-connection other than 'linear'")
    _require("readout_FCN" not in modules, "an MLP readout (readout_as_fcn)")
    _require(modules["onehot_to_feature_x"].num_modalities <= 1, "a fidelity-dependent species embedding")

    # edges: Bessel basis, envelope, spherical harmonics
    edge = modules["edge_embedding"]
    cutoff = float(model.cutoff)
    _require(isinstance(edge.basis_function, BesselBasis) and math.isclose(edge.basis_function.prefactor, 2.0 / cutoff),
             "a radial basis other than sevenn's Bessel basis")
    if isinstance(edge.cutoff_function, XPLORCutoff):
        envelope = {"envelope": "xplor", "envelope_on": float(edge.cutoff_function.r_on)}
    elif isinstance(edge.cutoff_function, PolynomialCutoff):
        envelope = {"envelope": "polynomial", "envelope_p": int(edge.cutoff_function.p)}
    else:
        raise NotImplementedError(f"SevenNet conversion: unsupported cutoff function {type(edge.cutoff_function).__name__}")
    sph = edge.spherical
    _require(sph.normalization == "component" and sph.sph.normalize, "unnormalised spherical harmonics")
    _require(all(ir.p == 1 for _, ir in sph.irreps_out), "parity (O(3)) features; only SO(3) SevenNets are supported")
    _require(e3nn.config("irrep_normalization") == "component", "e3nn-jax with irrep_normalization other than 'component'")

    # irreps between layers; the radial MLP's shape
    embedding = modules["onehot_to_feature_x"].linear
    layer_out = [str(modules[f"{t}_equivariant_gate"].gate.irreps_out) for t in range(num_layers)]
    channels = embedding.irreps_out.num_irreps
    scalars = f"{channels}x0e"
    _require(str(embedding.irreps_out) == scalars and layer_out[-1] == scalars and len(set(layer_out[:-1])) <= 1,
             f"per-layer irreps {[str(embedding.irreps_out)] + layer_out}")
    conv0 = modules["0_convolution"]
    hs = list(conv0.weight_nn.hs)
    denominator = float(conv0.denominator)
    config = SevenNetConfig(
        species=_species(model.type_map),
        cutoff=cutoff,
        num_layers=num_layers,
        channels=channels,
        hidden_irreps=layer_out[0],
        lmax=int(sph.lmax),
        bessel_basis=hs[0],
        radial_hidden=tuple(hs[1:-1]),
        conv_denominator=denominator,
        fidelity=fidelity,
        **envelope,
    )

    embed, bias = _torch_linear(torch, modules["onehot_to_feature_x"])
    _leading_bias(bias, scalars, allowed=False)
    params = {
        "bessel_frequencies": _numpy(edge.basis_function.coeffs),
        "embedding": embed(np.eye(len(config.species))),
        "layers": [],
    }
    biased = fidelity is not None
    for t, (irreps_in, irreps_out) in enumerate(config.layer_irreps()):
        gate_in = gate_irreps(irreps_out)
        gate_module = modules[f"{t}_equivariant_gate"].gate
        _require(str(gate_module.irreps_in) == str(gate_in), f"gate irreps {gate_module.irreps_in}")
        _check_silu(list(gate_module.act_scalars.acts) + list(gate_module.act_gates.acts), "gate")
        conv = modules[f"{t}_convolution"]
        message = message_irreps(config, irreps_in, irreps_out)
        table = path_table(irreps_in, config.sh_irreps, kept_irreps(irreps_out))
        radial, message_rows = _radial(torch, o3, conv, table, denominator)
        self_map, self_bias = _torch_linear(torch, modules[f"{t}_self_connection_intro"])
        in_map, in_bias = _torch_linear(torch, modules[f"{t}_self_interaction_1"], modal)
        out_map, out_bias = _torch_linear(torch, modules[f"{t}_self_interaction_2"], modal, message_rows)
        _leading_bias(self_bias, gate_in, allowed=False)
        layer = {
            "linear_self": _linear_params(self_map, irreps_in, gate_in),
            "linear_in": _linear_params(in_map, irreps_in, irreps_in),
            "radial": radial,
            "linear_out": _linear_params(out_map, message, gate_in),
        }
        in_bias, out_bias = _leading_bias(in_bias, irreps_in, biased), _leading_bias(out_bias, gate_in, biased)
        if biased:
            layer.update(bias_in=in_bias, bias_out=out_bias)
        params["layers"].append(layer)

    hidden = f"{channels // 2}x0e"
    reduce_hidden, reduce_out = modules["reduce_input_to_hidden"], modules["reduce_hidden_to_energy"]
    _require(str(reduce_hidden.irreps_out) == hidden and str(reduce_out.irreps_out) == "1x0e", "a readout of another shape")
    hidden_map, hidden_bias = _torch_linear(torch, reduce_hidden, modal)
    out_map, out_bias = _torch_linear(torch, reduce_out)
    _leading_bias(out_bias, "0e", allowed=False)
    params["readout"] = {"hidden": _linear_params(hidden_map, scalars, hidden), "out": _linear_params(out_map, hidden, "0e")}
    hidden_bias = _leading_bias(hidden_bias, hidden, biased)
    if biased:
        params["readout"]["bias_hidden"] = hidden_bias
    params["scale"], params["shift"] = _scale_shift(modules["rescale_atomic_energy"], len(config.species), modal)
    return config, _to_jax(params)


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise NotImplementedError(f"SevenNet conversion: this checkpoint uses {what}, which phonax_fast does not support")


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float64)


def _to_jax(tree):
    if isinstance(tree, dict):
        return {k: _to_jax(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_to_jax(v) for v in tree]
    return jnp.asarray(tree, dtype=jnp.float64)


def _species(type_map: dict) -> tuple[str, ...]:
    """Element symbols in the order of sevenn's one-hot indices (``type_map``: Z -> index)."""
    from ase.data import chemical_symbols

    by_index = {index: chemical_symbols[z] for z, index in type_map.items()}
    _require(sorted(by_index) == list(range(len(by_index))), "a type map with gaps")
    return tuple(by_index[i] for i in range(len(by_index)))


def _check_silu(acts, where: str) -> None:
    """Every activation is e3nn-torch's normalised SiLU with the constant the JAX model uses."""
    import torch

    for act in acts:
        ok = act is not None and act.f is torch.nn.functional.silu and abs(act.cst - SILU_NORMALIZATION) < 1e-15
        _require(ok, f"a {where} activation other than SiLU")


def _torch_linear(torch, module, modal: int | None = None, rows=None):
    """(apply, bias) of the e3nn-torch linear map inside sevenn's ``module`` (``.linear``), in float64.

    ``apply(x)`` (numpy, (batch, dim)) is the linear part, ``bias`` (dim_out,) the response to
    zero features (the fidelity one-hot's when the map takes one after its features: sevenn's
    ``num_modalities`` > 1). ``rows``: the map's input index of each entry of our feature layout
    (default: the same layout)."""
    e3nn_linear = module.linear
    n_modal = getattr(module, "num_modalities", 0)
    fixed = np.eye(n_modal)[modal] if n_modal > 1 else np.zeros(0)
    dim_torch = e3nn_linear.irreps_in.dim - len(fixed)
    rows = np.arange(dim_torch) if rows is None else np.asarray(rows)

    def run(x):
        full = np.zeros((len(x), dim_torch + len(fixed)))
        full[:, rows] = x
        full[:, dim_torch:] = fixed
        return _numpy(e3nn_linear(torch.as_tensor(full)))

    bias = run(np.zeros((1, len(rows))))[0]
    return (lambda x: run(x) - bias), bias


def _linear_params(apply, irreps_in, irreps_out) -> dict:
    """Weights of :func:`phonax_fast.models.layers.linear` that do what the linear ``apply`` does
    (inputs and outputs in the layouts of ``irreps_in`` and ``irreps_out``).

    Block (i_in, i_out) is the response of the first component of every output copy to a unit
    first component of every input copy, times √fan_in (which ``linear`` divides by). Checked on
    random inputs against the whole map rebuilt from the blocks (W/√fan_in ⊗ identity on the
    2l+1 components), so any other layout or a non-equivariant map is caught."""
    irreps_in, irreps_out = e3nn.Irreps(irreps_in), e3nn.Irreps(irreps_out)
    in_off = np.cumsum([0] + [m * ir.dim for m, ir in irreps_in])
    out_off = np.cumsum([0] + [m * ir.dim for m, ir in irreps_out])
    first = np.concatenate([in_off[i] + ir.dim * np.arange(mul) for i, (mul, ir) in enumerate(irreps_in)])
    response = np.zeros((irreps_in.dim, irreps_out.dim))
    response[first] = apply(np.eye(irreps_in.dim)[first])
    params, rebuilt = {}, np.zeros_like(response)
    for i_out, (mul_out, ir_out) in enumerate(irreps_out):
        fan_in = sum(mul for mul, ir in irreps_in if ir == ir_out)
        for i_in, (mul_in, ir_in) in enumerate(irreps_in):
            if ir_in == ir_out:
                block = response[in_off[i_in] : in_off[i_in + 1] : ir_in.dim, out_off[i_out] : out_off[i_out + 1] : ir_out.dim]
                params[f"{i_in}->{i_out}"] = block * math.sqrt(fan_in)
                rebuilt[in_off[i_in] : in_off[i_in + 1], out_off[i_out] : out_off[i_out + 1]] = np.kron(block, np.eye(ir_in.dim))
    x = np.random.default_rng(0).normal(size=(4, irreps_in.dim))
    expected = apply(x)
    if not np.allclose(x @ rebuilt, expected, rtol=0, atol=1e-12 * max(1.0, np.abs(expected).max())):
        raise RuntimeError(f"SevenNet conversion: a linear map {irreps_in} -> {irreps_out} is not e3nn's block form")
    return params


def _leading_bias(bias: np.ndarray, irreps_out, allowed: bool) -> np.ndarray:
    """The bias on the leading scalars of ``irreps_out`` (a fidelity's); zero elsewhere, and
    everywhere unless ``allowed``."""
    irreps_out = e3nn.Irreps(irreps_out)
    n = irreps_out[0].mul if irreps_out[0].ir == e3nn.Irrep("0e") else 0
    _require(not bias[n:].any() and (allowed or not bias.any()), "biases in linear maps")
    return bias[:n]


def _radial(torch, o3, conv, table, denominator: float) -> tuple[list, np.ndarray]:
    """(radial MLP weights, torch rows of our message layout) of one sevenn convolution.

    The last MLP layer's columns are reordered to ``table``'s paths and scaled by e3nn-torch's
    path constant over e3nn-jax's (path weight · Wigner 3j vs. component-normalised CG) and by
    the model's denominator over this layer's. The second result maps each flat index of our
    message (``table.irreps_out``) to the flat index of the same entry in sevenn's message."""
    tp = conv.convolution
    _require(str(tp.irreps_in1) == str(table.irreps_x) and str(tp.irreps_in2) == str(table.irreps_y),
             f"convolution irreps {tp.irreps_in1} x {tp.irreps_in2}")
    layers = [getattr(conv.weight_nn, f"layer{k}") for k in range(len(conv.weight_nn.hs) - 1)]
    _require(all(layer.var_in == 1 and layer.var_out == 1 for layer in layers), "a radial MLP with variance scaling")
    _check_silu([layer.act for layer in layers[:-1]], "radial MLP")
    _require(layers[-1].act is None, "a radial MLP with an output activation")
    weights = [_numpy(layer.weight) for layer in layers]

    torch_paths, w_off = {}, 0
    out_offsets = np.cumsum([0] + [m * ir.dim for m, ir in tp.irreps_out])
    for ins in tp.instructions:
        _require(ins.connection_mode == "uvu" and ins.has_weight, "a convolution path other than weighted 'uvu'")
        ir_out = tp.irreps_out[ins.i_out].ir
        torch_paths[(ins.i_in1, ins.i_in2, str(ir_out))] = (w_off, out_offsets[ins.i_out], ins.path_weight)
        w_off += math.prod(ins.path_shape)
    _require(w_off == weights[-1].shape[1], "radial weights that do not match the convolution")

    col = {name: PATH_COLUMNS.index(name) for name in PATH_COLUMNS}
    x_block = {off: a for a, off in enumerate(np.cumsum([0] + [m * ir.dim for m, ir in table.irreps_x])[:-1])}
    y_block = {off: b for b, off in enumerate(np.cumsum([0] + [ir.dim for _, ir in table.irreps_y])[:-1])}
    last = np.zeros((weights[-1].shape[0], table.num_weights))
    rows = np.zeros(table.dim_out, dtype=np.int64)
    for row, (_, ir_out) in zip(table.paths, table.irreps_out):
        a, b = x_block[row[col["x_off"]]], y_block[row[col["y_off"]]]
        key = (a, b, str(ir_out))
        _require(key in torch_paths, f"no sevenn path for {table.irreps_x[a]} x {table.irreps_y[b]} -> {ir_out}")
        t_w, t_out, path_weight = torch_paths[key]
        l1, l2, l3 = table.irreps_x[a].ir.l, table.irreps_y[b].ir.l, ir_out.l
        ours = np.asarray(e3nn.clebsch_gordan(l1, l2, l3)) * math.sqrt(2 * l3 + 1)
        theirs = path_weight * o3.wigner_3j(l1, l2, l3, dtype=torch.float64).numpy()
        factor = float((ours * theirs).sum() / (ours * ours).sum())
        _require(np.allclose(theirs, factor * ours, rtol=0, atol=1e-13), f"a Clebsch-Gordan convention for {l1} x {l2} -> {l3}")
        mul, w = row[col["mul"]], row[col["w_off"]]
        last[:, w : w + mul] = weights[-1][:, t_w : t_w + mul] * factor * denominator / float(conv.denominator)
        n = mul * ir_out.dim
        rows[row[col["o_off"]] : row[col["o_off"]] + n] = t_out + np.arange(n)
    return weights[:-1] + [last], rows


def _scale_shift(rescale, n_species: int, modal: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift) per species, eV, of sevenn's rescale module (the fidelity's where it has one)."""
    out = []
    for name, modal_wise in (("scale", "use_modal_wise_scale"), ("shift", "use_modal_wise_shift")):
        value = _numpy(getattr(rescale, name))
        if getattr(rescale, modal_wise, False):
            value = value[modal]
        out.append(np.broadcast_to(value.reshape(-1) if value.size == 1 else value, (n_species,)).copy())
    return out[0], out[1]
