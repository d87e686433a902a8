"""The CUDA kernels (kernels/tp_conv.cu), run on the CPU, against the C++ kernels.

``tests/ops/cuda_emulation`` compiles the unchanged CUDA source with a stand-in for the CUDA runtime
whose block threads are fibers (``__syncthreads`` and warp shuffles are barriers), which enforces
the launch limits of an H100/H200, and whose launches alternate thread order and the filling of
shared memory (see its header). Each case runs twice and must give the same bits, so reads of
unwritten shared memory and races between barriers show; every buffer ends at an unreadable page,
so a read or write past its end stops the run (SIGSEGV). This
checks the kernels' indexing, tiling, shared-memory sizing and reductions on every machine; the
timing and the hardware (memory model, concurrency of blocks) are left to the ``gpu`` tests.

The reference is the CPU kernel through the JAX primitive (itself checked against e3nn-jax in
test_fused_tp.py), on graphs with unequal sender and receiver sets, nodes without edges, repeated
edges, out-of-range edges and a node with more edges than one shared-memory tile holds.
"""

import ctypes
import mmap
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from phonax_fast.ops.fused import SLOTS, edge_index, slot_inputs, slot_kernel
from phonax_fast.ops.tp_paths import path_table

ROOT = Path(__file__).resolve().parents[2]
TOL = {np.float32: 2e-5, np.float64: 1e-12}
CASES = {
    # irreps x, irreps Y, filter: multiplicities that are not powers of two, l up to 3
    "lmax3": ("3x0e + 5x1o + 3x2e + 1x3o", "0e + 1o + 2e + 3o", "0e + 1o + 1e + 2e + 3o + 3e"),
    # rows too wide for 32 edges in 96 KiB of shared memory: several tiles per row, > 48 KiB
    "wide": ("40x0e + 40x1o + 40x2e + 24x3o", "0e + 1o + 2e", "0e + 1o + 2e + 3o"),
}
N_X, N_Z, HUB = 9, 7, 3


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    compiler = shutil.which(os.environ.get("CXX", "c++"))
    if compiler is None:
        pytest.skip("no C++ compiler to build the emulated CUDA kernels")
    library = tmp_path_factory.mktemp("cuda_emulation") / "libtp_conv_emulated.so"
    subprocess.run([compiler, "-std=c++17", "-O2", "-shared", "-fPIC",
                    f"-I{ROOT / 'tests' / 'ops' / 'cuda_emulation'}", f"-I{ROOT / 'core'}", f"-I{ROOT / 'kernels'}",
                    str(ROOT / "tests" / "ops" / "cuda_emulation" / "tp_conv_emulated.cc"), "-o", str(library)],
                   check=True, capture_output=True)
    lib = ctypes.CDLL(str(library))
    lib.phonax_emulated_tp_conv.restype = ctypes.c_int
    return lib


def _graph(rng):
    """Edges from N_X senders to N_Z receivers: receiver HUB has 45 edges (several tiles), sender 8
    and receiver 6 have none, edges repeat, and two edges point out of range."""
    receivers = np.concatenate([np.full(45, HUB), rng.integers(0, N_Z - 1, 25)])
    senders = rng.integers(0, N_X - 1, len(receivers))
    senders[5:10], receivers[5:10] = senders[0:5], receivers[0:5]
    senders[-1], receivers[-2] = -1, N_Z
    return senders.astype(np.int32), receivers.astype(np.int32)


def _shapes(table, n_edges):
    return {"x": (N_X, table.dim_x), "y": (n_edges, table.dim_y), "w": (n_edges, table.num_weights),
            "z": (N_Z, table.dim_out)}


def _run_emulated(lib, slot, operands, edges, table, dtype):
    """The CUDA kernel of ``slot`` on the stand-in runtime, every buffer fenced (see ``_fenced``);
    the output poisoned with NaN first."""
    shapes = _shapes(table, len(edges.senders))
    batch = max((a.shape[0] for a in operands.values() if a.ndim == 3), default=1)
    out = _fenced(np.full((batch,) + shapes[slot], np.nan, dtype))
    paths, cg_ijk, cg_val, cg_ptr = (_fenced(t) for t in table.operands(dtype))
    index = [_fenced(np.asarray(a, np.int32)) for a in edges]
    dense = {s: _fenced(np.asarray(operands.get(s, np.zeros((1, 1))), dtype)) for s in SLOTS}
    pointer = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
    i64 = lambda values: (ctypes.c_int64 * 4)(*values)  # noqa: E731
    err = lib.phonax_emulated_tp_conv(
        ctypes.c_int(dtype == np.float64), ctypes.c_int(SLOTS.index(slot)),
        pointer(paths), ctypes.c_int64(len(paths)), pointer(cg_ijk), pointer(cg_val), pointer(cg_ptr),
        ctypes.c_int64(cg_val.size // 3), (ctypes.c_void_p * 6)(*[a.ctypes.data for a in index]),
        ctypes.c_int64(len(index[0])), ctypes.c_int64(N_X), ctypes.c_int64(N_Z),
        (ctypes.c_void_p * 4)(*[dense[s].ctypes.data for s in SLOTS]),
        i64([dense[s].shape[-1] for s in SLOTS]),
        i64([dense[s][0].size if dense[s].ndim == 3 else 0 for s in SLOTS]),
        pointer(out), ctypes.c_int64(batch), ctypes.c_int64(out.shape[1]), ctypes.c_int64(out.shape[2]))
    assert err == 0, f"emulated CUDA launch failed with cudaError_t {err}"
    return np.array(out)


PAGE = mmap.PAGESIZE
_LIBC = ctypes.CDLL(None, use_errno=True)


def _fenced(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` that ends where an unreadable page begins: a kernel that reads or writes
    past the end of a buffer stops the test process with SIGSEGV (pytest's faulthandler names
    the test), whether or not the values it read would have mattered."""
    a = np.ascontiguousarray(a)
    pages = -(-a.nbytes // PAGE) + 1
    region = mmap.mmap(-1, pages * PAGE)
    start = ctypes.addressof(ctypes.c_char.from_buffer(region))
    if _LIBC.mprotect(ctypes.c_void_p(start + (pages - 1) * PAGE), PAGE, 0) != 0:  # PROT_NONE
        raise OSError(ctypes.get_errno(), "mprotect failed")
    fenced = np.frombuffer(region, a.dtype, count=a.size, offset=(pages - 1) * PAGE - a.nbytes).reshape(a.shape)
    fenced[...] = a
    return fenced


@pytest.mark.parametrize("dtype", [pytest.param(np.float32, marks=pytest.mark.slow), np.float64])  # float32: CI's slow tier
@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c == "wide" else c for c in sorted(CASES)])
@pytest.mark.parametrize("slot", SLOTS)
def test_cuda_kernels_match_the_cpu_kernels(emulated, slot, case, dtype):
    irreps_x, irreps_y, filter_ir_out = CASES[case]
    table = path_table(irreps_x, irreps_y, filter_ir_out)
    rng = np.random.default_rng(SLOTS.index(slot))
    senders, receivers = _graph(rng)
    edges = edge_index(senders, receivers, N_X, N_Z)
    shapes = _shapes(table, len(senders))
    inputs = slot_inputs(slot)
    # unbatched; each input batched alone (a block of HVP tangents: 11 = a full chunk of 8 batch
    # elements per block or warp where the kernels share operands, and a partial one); all batched
    for batched in [(), *[(name,) for name in inputs], inputs]:
        batch = 11 if len(batched) == 1 else 3
        operands = {name: rng.normal(size=((batch,) if name in batched else ()) + shapes[name]).astype(dtype)
                    for name in inputs}
        expected = np.asarray(slot_kernel(slot, operands, edges, table))
        got = _run_emulated(emulated, slot, operands, edges, table, dtype)
        assert np.isfinite(got).all(), f"unwritten output elements (batched {batched})"
        got = got if batched else got[0]
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL[dtype] * scale, err_msg=f"batched {batched}")
        again = _run_emulated(emulated, slot, operands, edges, table, dtype)
        np.testing.assert_array_equal(again if batched else again[0], got)  # fixed summation order
