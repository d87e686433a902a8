// Helpers shared by the FFI handlers of the tensor-product convolution (CPU and CUDA): the
// operand list and XLA buffers as core views.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "tp_conv.h"
#include "xla/ffi/api/ffi.h"

namespace phonax::ffi_util {

namespace ffi = xla::ffi;

using DenseBuffers = std::array<ffi::AnyBuffer, 3>;
using IndexBuffers = std::array<ffi::Buffer<ffi::S32>, 6>;

// Appends the operands of target "phonax_tp_conv" to a binding: three dense inputs (x, y, w, z
// without the output's slot), six edge index vectors, the path table (paths, cg_ijk, cg_val,
// cg_ptr), the output, and the attributes slot and poison.
template <typename Binding>
auto tp_conv_signature(Binding binding) {
  using S32 = ffi::Buffer<ffi::S32>;
  return std::move(binding)
      .template Arg<ffi::AnyBuffer>()
      .template Arg<ffi::AnyBuffer>()
      .template Arg<ffi::AnyBuffer>()
      .template Arg<S32>()
      .template Arg<S32>()
      .template Arg<S32>()
      .template Arg<S32>()
      .template Arg<S32>()
      .template Arg<S32>()
      .template Arg<S32>()
      .template Arg<S32>()
      .template Arg<ffi::AnyBuffer>()
      .template Arg<S32>()
      .template Ret<ffi::AnyBuffer>()
      .template Attr<int64_t>("slot")
      .template Attr<bool>("poison");
}

inline ffi::Error invalid(const std::string& what) {
  return ffi::Error(ffi::ErrorCode::kInvalidArgument, "phonax tp_conv: " + what);
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

// Builds the views of a call; checks dtypes and the CSR sizes.
template <typename T>
ffi::Error make_views(Slot slot, const DenseBuffers& dense_in, const IndexBuffers& index,
                      const ffi::Buffer<ffi::S32>& paths, const ffi::Buffer<ffi::S32>& cg_ijk,
                      const ffi::AnyBuffer& cg_val, const ffi::Buffer<ffi::S32>& cg_ptr,
                      ffi::AnyBuffer& out, Views<T>* v) {
  static constexpr Slot kOrder[4] = {Slot::x, Slot::y, Slot::w, Slot::z};
  Dense<T>* by_slot[4] = {&v->in.x, &v->in.y, &v->in.w, &v->in.z};
  int64_t n_rows[4] = {0, 0, 0, 0};
  for (int n = 0, d = 0; n < 4; ++n) {
    if (kOrder[n] == slot) continue;
    if (dense_in[d].element_type() != out.element_type())
      return invalid("all float operands must share the output dtype");
    *by_slot[n] = dense<T>(dense_in[d]);
    n_rows[n] = rows(dense_in[d]);
    ++d;
  }
  if (cg_val.element_type() != out.element_type())
    return invalid("the CG values must have the output dtype");
  n_rows[static_cast<int>(slot)] = rows(out);

  Graph& g = v->graph;
  g.senders = index[0].typed_data();
  g.receivers = index[1].typed_data();
  g.perm_r = index[2].typed_data();
  g.ptr_r = index[3].typed_data();
  g.perm_s = index[4].typed_data();
  g.ptr_s = index[5].typed_data();
  g.n_edges = index[0].element_count();
  g.n_x = n_rows[0];
  g.n_z = n_rows[3];
  if (static_cast<int64_t>(index[3].element_count()) != g.n_z + 1 ||
      static_cast<int64_t>(index[5].element_count()) != g.n_x + 1)
    return invalid("CSR row pointers do not match the node counts");

  v->table = {paths.typed_data(), static_cast<int64_t>(paths.dimensions()[0]), cg_ijk.typed_data(),
              static_cast<const T*>(cg_val.untyped_data()), cg_ptr.typed_data(),
              static_cast<int64_t>(cg_val.element_count() / 3)};
  auto dims = out.dimensions();
  v->out = {static_cast<T*>(out.untyped_data()), dims.size() == 3 ? dims[0] : 1, rows(out),
            dims[dims.size() - 1]};
  return ffi::Error::Success();
}

}  // namespace phonax::ffi_util
