// What the FFI handlers of target "phonax_tp_conv" (CPU: tp_conv_cpu.cc, CUDA: tp_conv_cuda.cc)
// share: the binding of their operands, the handler body with its checks and its dtype dispatch,
// and the XLA buffers as core views (core/tp_conv.h). A platform only supplies how to run the
// kernels on the views (a `Backend`, see tp_conv_handler).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "tp_conv.h"
#include "xla/ffi/api/ffi.h"

namespace phonax::ffi_util {

namespace ffi = xla::ffi;

inline ffi::Error invalid(const std::string& what) {
  return ffi::Error(ffi::ErrorCode::kInvalidArgument, "phonax tp_conv: " + what);
}

// Calls f(T{}) with T the C++ type of a float dtype: float32 -> float, float64 -> double; any
// other dtype is an error. The one dtype dispatch of the handlers.
template <typename F>
ffi::Error dispatch_float(ffi::DataType dtype, F&& f) {
  switch (dtype) {
    case ffi::F32:
      return f(float{});
    case ffi::F64:
      return f(double{});
    default:
      return invalid("only float32 and float64 are supported");
  }
}

// A [batch?, rows, width] buffer as a core Dense view (batch_stride 0 without a batch).
template <typename T>
Dense<T> dense(const ffi::AnyBuffer& buf) {
  auto dims = buf.dimensions();
  const int64_t rank = dims.size();
  return {static_cast<const T*>(buf.untyped_data()), dims[rank - 1],
          rank == 3 ? dims[1] * dims[2] : 0};
}

inline int64_t rows(const ffi::AnyBuffer& buf) {
  auto dims = buf.dimensions();
  return dims[dims.size() - 2];
}

// Core views of one call.
template <typename T>
struct Views {
  PathTable<T> table;
  Graph graph;
  Operands<T> in;
  Output<T> out;
};

// The operands of one call as XLA hands them over (the handler's arguments, see tp_conv_handler).
struct Buffers {
  ffi::AnyBuffer dense[3];           // the three dense inputs, in slot order
  ffi::Buffer<ffi::S32> index[6];    // senders, receivers, perm_r, ptr_r, perm_s, ptr_s
  ffi::Buffer<ffi::S32> paths;       // the path table
  ffi::Buffer<ffi::S32> cg_ijk;
  ffi::AnyBuffer cg_val;
  ffi::Buffer<ffi::S32> cg_ptr;
};

// Builds the views of a call; checks dtypes and the CSR sizes.
template <typename T>
ffi::Error make_views(Slot slot, const Buffers& b, ffi::AnyBuffer& out, Views<T>* v) {
  static constexpr Slot kOrder[4] = {Slot::x, Slot::y, Slot::w, Slot::z};
  Dense<T>* by_slot[4] = {&v->in.x, &v->in.y, &v->in.w, &v->in.z};
  int64_t n_rows[4] = {0, 0, 0, 0};
  for (int n = 0, d = 0; n < 4; ++n) {
    if (kOrder[n] == slot) continue;
    if (b.dense[d].element_type() != out.element_type())
      return invalid("all float operands must share the output dtype");
    *by_slot[n] = dense<T>(b.dense[d]);
    n_rows[n] = rows(b.dense[d]);
    ++d;
  }
  if (b.cg_val.element_type() != out.element_type())
    return invalid("the CG values must have the output dtype");
  n_rows[static_cast<int>(slot)] = rows(out);

  Graph& g = v->graph;
  g.senders = b.index[0].typed_data();
  g.receivers = b.index[1].typed_data();
  g.perm_r = b.index[2].typed_data();
  g.ptr_r = b.index[3].typed_data();
  g.perm_s = b.index[4].typed_data();
  g.ptr_s = b.index[5].typed_data();
  g.n_x = n_rows[0];
  g.n_z = n_rows[3];
  if (static_cast<int64_t>(b.index[3].element_count()) != g.n_z + 1 ||
      static_cast<int64_t>(b.index[5].element_count()) != g.n_x + 1)
    return invalid("CSR row pointers do not match the node counts");

  v->table = {b.paths.typed_data(), static_cast<int64_t>(b.paths.dimensions()[0]),
              b.cg_ijk.typed_data(), static_cast<const T*>(b.cg_val.untyped_data()),
              b.cg_ptr.typed_data(), static_cast<int64_t>(b.cg_val.element_count() / kCgCopies)};
  auto dims = out.dimensions();
  v->out = {static_cast<T*>(out.untyped_data()), dims.size() == 3 ? dims[0] : 1, rows(out),
            dims[dims.size() - 1]};
  return ffi::Error::Success();
}

// The handler of target "phonax_tp_conv" on one platform. Backend provides
//   using Context = ...;  // the platform's execution context (thread pool, stream)
//   template <typename T>
//   static ffi::Error run(Context, Slot, const Views<T>&, ffi::AnyBuffer& out, bool poison);
// which fills the output (NaN first when poison is set). Shapes: E edges, n_x sender rows,
// n_z receiver rows, dims of the path table's operands (python/phonax_fast/ops/tp_paths.py).
// Every float buffer has the output's dtype, float32 or float64; values are in whatever units
// the caller's features carry (the kernels are multilinear, with dimensionless CG values).
template <typename Backend>
ffi::Error tp_conv_handler(
    typename Backend::Context ctx,  // thread pool (CPU) or stream (CUDA) of XLA
    // The three dense inputs: x, Y, w, z in this order without the output's slot, each
    // [batch?, rows, width] with an optional leading batch dimension:
    //   x [batch?, n_x, dim_x] node features (rows gathered by senders),
    //   Y [batch?, E, dim_y] edge spherical harmonics,
    //   w [batch?, E, num_weights] per-edge weights, per path and channel (path row's w_off + u),
    //   z [batch?, n_z, dim_out] receiver-side cotangent (the output of the forward slot).
    ffi::AnyBuffer a, ffi::AnyBuffer b, ffi::AnyBuffer c,
    ffi::Buffer<ffi::S32> senders,    // [E] row of x of each edge; out of [0, n_x): edge ignored
    ffi::Buffer<ffi::S32> receivers,  // [E] row of z of each edge; out of [0, n_z): edge ignored
    ffi::Buffer<ffi::S32> perm_r,     // [E] edge ids stable-sorted by receiver
    ffi::Buffer<ffi::S32> ptr_r,      // [n_z + 1] row starts into perm_r (CSR)
    ffi::Buffer<ffi::S32> perm_s,     // [E] edge ids stable-sorted by sender
    ffi::Buffer<ffi::S32> ptr_s,      // [n_x + 1] row starts into perm_s (CSR)
    ffi::Buffer<ffi::S32> paths,      // [n_paths, kPathCols] path rows (core/tp_path.h)
    ffi::Buffer<ffi::S32> cg_ijk,     // [kCgCopies, nnz, 3] (i, j, k) of the non-zero CG entries
    ffi::AnyBuffer cg_val,            // [kCgCopies, nnz] their values, in the output's dtype
    ffi::Buffer<ffi::S32> cg_ptr,     // [kCgCopies, n_paths, kCgPtrCols] entry starts per index
    // The output of the slot, [batch?, rows, width] (batch when any input has one):
    // x [n_x, dim_x], Y [E, dim_y], w [E, num_weights] or z [n_z, dim_out]; every element written.
    ffi::Result<ffi::AnyBuffer> out,
    int64_t slot,  // attribute "slot": the output's slot, 0 = x, 1 = y, 2 = w, 3 = z (Slot)
    bool poison) {  // attribute "poison": fill the output with NaN first (tests: all is written)
  if (slot < 0 || slot > 3) return invalid("slot must be 0..3");
  const Buffers buffers{{a, b, c},
                        {senders, receivers, perm_r, ptr_r, perm_s, ptr_s},
                        paths,
                        cg_ijk,
                        cg_val,
                        cg_ptr};
  return dispatch_float(out->element_type(), [&](auto zero) {
    using T = decltype(zero);
    Views<T> v{};
    ffi::Error status = make_views<T>(static_cast<Slot>(slot), buffers, *out, &v);
    if (status.failure()) return status;
    return Backend::template run<T>(ctx, static_cast<Slot>(slot), v, *out, poison);
  });
}

// Binds the operands of tp_conv_handler (after the platform's context), in its order.
template <typename Binding>
auto tp_conv_signature(Binding binding) {
  using S32 = ffi::Buffer<ffi::S32>;
  return std::move(binding)
      .template Arg<ffi::AnyBuffer>()  // a: first dense input
      .template Arg<ffi::AnyBuffer>()  // b: second dense input
      .template Arg<ffi::AnyBuffer>()  // c: third dense input
      .template Arg<S32>()             // senders
      .template Arg<S32>()             // receivers
      .template Arg<S32>()             // perm_r
      .template Arg<S32>()             // ptr_r
      .template Arg<S32>()             // perm_s
      .template Arg<S32>()             // ptr_s
      .template Arg<S32>()             // paths
      .template Arg<S32>()             // cg_ijk
      .template Arg<ffi::AnyBuffer>()  // cg_val
      .template Arg<S32>()             // cg_ptr
      .template Ret<ffi::AnyBuffer>()  // out
      .template Attr<int64_t>("slot")
      .template Attr<bool>("poison");
}

}  // namespace phonax::ffi_util
