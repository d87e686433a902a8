"""The path-table layout: one statement in the kernels (core/tp_path.h, exported by
``_core.path_table_layout()``), read by ops/tp_paths.py, and tables that mean what it says.

The first test pins the contract itself, so that changing it is a decision (update this test and
the kernels together); the others fail if the Python side stops following the exported layout:
its constants, and the rows it writes, checked column by column by name against the irreps.
"""

import e3nn_jax as e3nn
import numpy as np
import pytest

from phonax_fast import _core
from phonax_fast.ops import fused, tp_paths
from phonax_fast.ops.tp_paths import path_table

COLUMNS = ("x_off", "y_off", "o_off", "w_off", "mul", "d1", "d2", "d3", "cg_off", "cg_len")
CASES = {
    "lmax2": ("5x0e + 3x1o + 7x2e", "0e + 1o + 2e", "0e + 1o + 2e"),
    "lmax3": ("3x0e + 5x1o + 3x2e + 1x3o", "0e + 1o + 2e + 3o", "0e + 1o + 1e + 2e + 3o + 3e"),
    "parity": ("2x0o + 3x1e + 1x0e", "1x0e + 1x1o", None),
}


def test_core_exports_the_kernel_contract():
    layout = _core.path_table_layout()
    assert layout == {
        "columns": {name: col for col, name in enumerate(COLUMNS)},
        "row_width": len(COLUMNS),
        "max_l": 3,
        "max_dim": 7,
        "cg_copies": 3,
        "cg_ptr_width": 9,
        "slots": ["x", "y", "w", "z"],
    }


def test_python_constants_are_the_exported_layout():
    layout = _core.path_table_layout()
    assert tp_paths.PATH_COLUMNS == tuple(sorted(layout["columns"], key=layout["columns"].get))
    assert len(tp_paths.PATH_COLUMNS) == layout["row_width"]
    assert tp_paths.MAX_L == layout["max_l"]
    assert tp_paths.MAX_DIM == layout["max_dim"] == 2 * layout["max_l"] + 1
    assert tp_paths.CG_COPIES == layout["cg_copies"]
    assert tp_paths.CG_PTR_WIDTH == layout["cg_ptr_width"] == layout["max_dim"] + 2
    assert fused.SLOTS == tuple(layout["slots"])


def _blocks(irreps):
    """{first column: (multiplicity, irrep)} of the irrep blocks of ``irreps``."""
    offsets = np.cumsum([0] + [mul * ir.dim for mul, ir in irreps])
    return {int(off): (mul, ir) for off, (mul, ir) in zip(offsets, irreps)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_table_rows_follow_the_exported_columns(case):
    irreps_x, irreps_y, filter_ir_out = CASES[case]
    table = path_table(irreps_x, irreps_y, filter_ir_out)
    layout = _core.path_table_layout()
    col = layout["columns"]
    n_paths = len(table.paths)
    assert table.paths.dtype == np.int32 and table.paths.shape == (n_paths, layout["row_width"])
    nnz = table.cg_val.shape[1]
    assert table.cg_ijk.shape == (layout["cg_copies"], nnz, 3)
    assert table.cg_val.shape == (layout["cg_copies"], nnz)
    assert table.cg_ptr.shape == (layout["cg_copies"], n_paths, layout["cg_ptr_width"])

    x_blocks, y_blocks = _blocks(table.irreps_x), _blocks(table.irreps_y)
    out_blocks = _blocks(table.irreps_out)
    o_off = w_off = cg_off = 0
    for p, row in enumerate(table.paths):
        value = {name: int(row[c]) for name, c in col.items()}
        mul_x, ir_x = x_blocks[value["x_off"]]
        _, ir_y = y_blocks[value["y_off"]]
        mul_out, ir_out = out_blocks[value["o_off"]]
        assert (value["mul"], value["d1"], value["d2"], value["d3"]) == (mul_x, ir_x.dim, ir_y.dim, ir_out.dim)
        assert mul_out == mul_x and ir_out in ir_x * ir_y
        # blocks of the output and the weights, and the CG entries, follow each other path by path
        assert (value["o_off"], value["w_off"], value["cg_off"]) == (o_off, w_off, cg_off)
        o_off += value["mul"] * value["d3"]
        w_off += value["mul"]
        cg_off += value["cg_len"]
        cg = np.asarray(e3nn.clebsch_gordan(ir_x.l, ir_y.l, ir_out.l))
        assert value["cg_len"] == np.count_nonzero(np.abs(cg) > 1e-15)
        for g in range(layout["cg_copies"]):
            entries = table.cg_ijk[g, value["cg_off"]: value["cg_off"] + value["cg_len"]]
            assert (entries < [value["d1"], value["d2"], value["d3"]]).all() and (entries >= 0).all()
            # cg_ptr[g, p]: where the path's entries with index g = v start, then the path's end
            ptr = table.cg_ptr[g, p]
            assert ptr[0] == value["cg_off"] and ptr[-1] == value["cg_off"] + value["cg_len"]
            assert (np.diff(ptr) >= 0).all()
    assert (o_off, w_off, cg_off) == (table.dim_out, table.num_weights, nnz)
