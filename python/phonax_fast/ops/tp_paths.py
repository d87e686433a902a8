"""Path tables of the channel-wise ("uvu") tensor product: the data the fused kernels interpret.

A table lists, for ``e3nn.tensor_product(x, Y, filter_ir_out=..., regroup_output=False)``, every
path (x irrep block a, Y irrep block b -> output irrep) with the column offsets of its blocks in
x, Y, the output and the per-edge weights, and its Clebsch-Gordan block C[i, j, k] (e3nn-jax's
coefficients with e3nn-jax's irrep normalisation) as a list of non-zero entries. The output
layout is e3nn-jax's: paths in loop order (a, b, output irrep), then sorted by irrep.
Nothing else in the package knows about CG indices.

The layout of the table (the columns of a path row, the largest irrep, the shapes of the CG
arrays) is the kernels' and is read from the compiled extension (``_core.path_table_layout()``,
core/tp_path.h), so that the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
import functools

import e3nn_jax as e3nn
import numpy as np

from .. import _core

LAYOUT = _core.path_table_layout()
# Columns of a path row, in column order (core/tp_path.h: PathCol, PathRow).
PATH_COLUMNS = tuple(sorted(LAYOUT["columns"], key=LAYOUT["columns"].__getitem__))
MAX_L = LAYOUT["max_l"]
MAX_DIM = LAYOUT["max_dim"]
CG_COPIES = LAYOUT["cg_copies"]  # copy g of the CG entries is sorted by index g of (i, j, k)
CG_PTR_WIDTH = LAYOUT["cg_ptr_width"]  # MAX_DIM + 2: the starts of index values, then the end


@dataclasses.dataclass(frozen=True, eq=False)
class PathTable:
    """Paths of one tensor product (hashed by identity; build it with :func:`path_table`).

    Attributes:
        irreps_x, irreps_y, irreps_out: irreps of x (node features), Y (edge harmonics) and of the
            product (before weighting).
        paths: int32 [P, len(PATH_COLUMNS)] rows with the columns of ``PATH_COLUMNS``.
        cg_ijk: int32 [CG_COPIES = 3, nnz, 3] (i, j, k) of the non-zero CG entries in three
            copies; copy g holds each path's entries (rows cg_off .. cg_off + cg_len) sorted by
            index g.
        cg_val: float64 [3, nnz] their values.
        cg_ptr: int32 [3, P, CG_PTR_WIDTH = MAX_DIM + 2]: cg_ptr[g, p, v] is the first entry of
            path p in copy g whose index g is v (v = MAX_DIM + 1: the path's end).
    """

    irreps_x: e3nn.Irreps
    irreps_y: e3nn.Irreps
    irreps_out: e3nn.Irreps
    paths: np.ndarray
    cg_ijk: np.ndarray
    cg_val: np.ndarray
    cg_ptr: np.ndarray

    @property
    def dim_x(self) -> int:
        return self.irreps_x.dim

    @property
    def dim_y(self) -> int:
        return self.irreps_y.dim

    @property
    def dim_out(self) -> int:
        return self.irreps_out.dim

    @property
    def num_weights(self) -> int:
        """Weights per edge: one per output irrep copy (``irreps_out.num_irreps``)."""
        return self.irreps_out.num_irreps

    def operands(self, dtype) -> tuple[np.ndarray, ...]:
        """(paths, cg_ijk, cg_val as ``dtype``, cg_ptr): the table as kernel operands."""
        return self.paths, self.cg_ijk, self.cg_val.astype(dtype), self.cg_ptr


def _cg_block(l1: int, l2: int, l3: int, normalization: str) -> np.ndarray:
    """e3nn-jax's CG block [d1, d2, d3] scaled as ``e3nn.tensor_product`` scales it."""
    cg = np.asarray(e3nn.clebsch_gordan(l1, l2, l3), dtype=np.float64)
    if normalization == "component":
        return cg * np.sqrt(2 * l3 + 1)
    if normalization == "norm":
        return cg * np.sqrt((2 * l1 + 1) * (2 * l2 + 1))
    if normalization == "none":
        return cg
    raise ValueError(f"irrep_normalization={normalization!r} not supported")


def _kept_irreps(ir1: e3nn.Irrep, ir2: e3nn.Irrep, filter_ir_out) -> list[e3nn.Irrep]:
    """Output irreps of ir1 x ir2 that e3nn keeps under ``filter_ir_out``, in e3nn's order."""
    one = lambda ir: e3nn.zeros(e3nn.Irreps([(1, ir)]), ())  # noqa: E731
    product = e3nn.tensor_product(one(ir1), one(ir2), filter_ir_out=filter_ir_out,
                                  regroup_output=False)
    return [ir for _, ir in product.irreps]


def path_table(irreps_x, irreps_y, filter_ir_out=None) -> PathTable:
    """The path table of ``irreps_x ⊗ irreps_y`` filtered to ``filter_ir_out``.

    Every irrep of ``irreps_y`` must have multiplicity 1 (spherical harmonics), and all irreps
    (inputs and kept outputs) must have l <= 3. Tables are cached: equal arguments give the same
    object.
    """
    if filter_ir_out is not None:
        if isinstance(filter_ir_out, str):
            filter_ir_out = e3nn.Irreps(filter_ir_out)
        if isinstance(filter_ir_out, e3nn.Irrep):
            filter_ir_out = [filter_ir_out]
        filter_ir_out = tuple(e3nn.Irrep(ir) for ir in filter_ir_out)
    return _path_table(e3nn.Irreps(irreps_x), e3nn.Irreps(irreps_y), filter_ir_out,
                       e3nn.config("irrep_normalization"))


@functools.lru_cache(maxsize=None)
def _path_table(irreps_x, irreps_y, filter_ir_out, normalization) -> PathTable:
    for mul, ir in irreps_y:
        if mul != 1:
            raise ValueError(f"fused tensor product needs multiplicity 1 in irreps_y, got {irreps_y}")
    x_offsets = np.cumsum([0] + [m * ir.dim for m, ir in irreps_x])
    y_offsets = np.cumsum([0] + [ir.dim for _, ir in irreps_y])

    raw = []  # (mul, ir_out, a, b) in e3nn's loop order
    for a, (mul1, ir1) in enumerate(irreps_x):
        for b, (_, ir2) in enumerate(irreps_y):
            for ir_out in _kept_irreps(ir1, ir2, filter_ir_out):
                if max(ir1.l, ir2.l, ir_out.l) > MAX_L:
                    raise ValueError(f"fused tensor product supports l <= {MAX_L}; "
                                     f"path {ir1} x {ir2} -> {ir_out}")
                raw.append((mul1, ir_out, a, b))
    irreps_out = e3nn.Irreps([(mul, ir) for mul, ir, _, _ in raw])
    order = irreps_out.sort().inv  # sorted position -> loop-order path

    paths, cg_ijk, cg_val = [], [], []
    o_off = w_off = 0
    for q in order:
        mul, ir_out, a, b = raw[q]
        ir1, ir2 = irreps_x[a].ir, irreps_y[b].ir
        cg = _cg_block(ir1.l, ir2.l, ir_out.l, normalization)
        nz = np.argwhere(np.abs(cg) > 1e-15)
        row = {"x_off": x_offsets[a], "y_off": y_offsets[b], "o_off": o_off, "w_off": w_off,
               "mul": mul, "d1": ir1.dim, "d2": ir2.dim, "d3": ir_out.dim, "cg_off": len(cg_val),
               "cg_len": len(nz)}
        paths.append(tuple(row[name] for name in PATH_COLUMNS))
        cg_ijk.extend(map(tuple, nz))
        cg_val.extend(cg[tuple(nz.T)])
        o_off += mul * ir_out.dim
        w_off += mul
    paths = np.asarray(paths, dtype=np.int32).reshape(-1, len(PATH_COLUMNS))
    cg_ijk = np.asarray(cg_ijk, dtype=np.int32).reshape(-1, 3)
    cg_val = np.asarray(cg_val, dtype=np.float64)
    copies = [_grouped(paths, cg_ijk, cg_val, g) for g in range(CG_COPIES)]
    return PathTable(
        irreps_x=irreps_x,
        irreps_y=irreps_y,
        irreps_out=irreps_out.sort().irreps,
        paths=paths,
        cg_ijk=np.stack([c[0] for c in copies]).reshape(CG_COPIES, -1, 3),
        cg_val=np.stack([c[1] for c in copies]).reshape(CG_COPIES, -1),
        cg_ptr=np.stack([c[2] for c in copies]).reshape(CG_COPIES, -1, CG_PTR_WIDTH),
    )


def _grouped(paths, cg_ijk, cg_val, g):
    """The CG entries with each path's entries sorted by index g, and their group starts."""
    ijk, val = cg_ijk.copy(), cg_val.copy()
    ptr = np.zeros((len(paths), CG_PTR_WIDTH), dtype=np.int32)
    for p, row in enumerate(paths):
        start = row[PATH_COLUMNS.index("cg_off")]
        stop = start + row[PATH_COLUMNS.index("cg_len")]
        order = start + np.argsort(cg_ijk[start:stop, g], kind="stable")
        ijk[start:stop], val[start:stop] = cg_ijk[order], cg_val[order]
        ptr[p] = start + np.searchsorted(ijk[start:stop, g], np.arange(CG_PTR_WIDTH))
    return ijk, val, ptr
