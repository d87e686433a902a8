// kernels/tp_conv.cu compiled for the CPU against the stand-in runtime of cuda_runtime_api.h,
// behind one C function for ctypes (tests/ops/test_cuda_emulated.py). The arguments are the views
// the CUDA FFI handler builds (bindings/ffi_common.h), as raw pointers and sizes.
#include "tp_conv.cu"

namespace {

template <typename T>
int run(int slot, const int32_t* paths, int64_t n_paths, const int32_t* cg_ijk, const void* cg_val,
        const int32_t* cg_ptr, int64_t nnz, const int32_t* const* index, int64_t n_x, int64_t n_z,
        const void* const* dense, const int64_t* widths, const int64_t* batch_strides, void* out,
        int64_t batch, int64_t rows, int64_t width) {
  using namespace phonax;
  const PathTable<T> table{paths, n_paths, cg_ijk, static_cast<const T*>(cg_val), cg_ptr, nnz};
  const Graph graph{index[0], index[1], index[2], index[3], index[4], index[5], n_x, n_z};
  Dense<T> d[4];
  for (int n = 0; n < 4; ++n) d[n] = {static_cast<const T*>(dense[n]), widths[n], batch_strides[n]};
  const Operands<T> in{d[0], d[1], d[2], d[3]};
  const Output<T> o{static_cast<T*>(out), batch, rows, width};
  return static_cast<int>(cuda::tp_conv<T>(nullptr, static_cast<Slot>(slot), table, graph, in, o));
}

}  // namespace

// Runs the CUDA kernel of `slot` (0 = x, 1 = y, 2 = w, 3 = z); dense, widths and batch_strides
// are indexed by slot (the output's entry is unused), index holds senders, receivers, perm_r,
// ptr_r, perm_s, ptr_s (n_edges entries each, for the caller's bookkeeping: the kernels take the
// edge count from the output's rows in slots y, w and from the CSR pointers in slots x, z).
// Returns the cudaError_t of the launch (0: success).
extern "C" int phonax_emulated_tp_conv(int f64, int slot, const int32_t* paths, int64_t n_paths,
                                       const int32_t* cg_ijk, const void* cg_val,
                                       const int32_t* cg_ptr, int64_t nnz,
                                       const int32_t* const* index, int64_t n_edges, int64_t n_x,
                                       int64_t n_z, const void* const* dense,
                                       const int64_t* widths, const int64_t* batch_strides,
                                       void* out, int64_t batch, int64_t rows, int64_t width) {
  auto call = f64 ? run<double> : run<float>;
  (void)n_edges;
  return call(slot, paths, n_paths, cg_ijk, cg_val, cg_ptr, nnz, index, n_x, n_z, dense, widths,
              batch_strides, out, batch, rows, width);
}
