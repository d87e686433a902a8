// XLA FFI handler (CUDA) of target "phonax_tp_conv": the same operands and attributes as the CPU
// handler (tp_conv_cpu.cc), kernels in kernels/tp_conv.cu launched on XLA's stream.
#include <cuda_runtime_api.h>

#include "ffi_common.h"
#include "ffi_targets.h"
#include "tp_conv_cuda.h"

namespace phonax {
namespace {

namespace ffi = xla::ffi;
using ffi_util::invalid;

ffi::Error cuda_error(cudaError_t err) {
  return ffi::Error(ffi::ErrorCode::kInternal,
                    std::string("phonax tp_conv (CUDA): ") + cudaGetErrorString(err));
}

template <typename T>
ffi::Error run(cudaStream_t stream, Slot slot, const ffi_util::DenseBuffers& dense,
               const ffi_util::IndexBuffers& index, ffi::Buffer<ffi::S32> paths,
               ffi::Buffer<ffi::S32> cg_ijk, ffi::AnyBuffer cg_val, ffi::Buffer<ffi::S32> cg_ptr,
               ffi::AnyBuffer& out, bool poison) {
  ffi_util::Views<T> v{};
  ffi::Error status =
      ffi_util::make_views<T>(slot, dense, index, paths, cg_ijk, cg_val, cg_ptr, out, &v);
  if (status.failure()) return status;
  if (poison) {  // all-ones bytes are a NaN in float32 and float64
    if (cudaError_t err = cudaMemsetAsync(v.out.data, 0xFF, out.size_bytes(), stream))
      return cuda_error(err);
  }
  if (cudaError_t err = cuda::tp_conv<T>(stream, slot, v.table, v.graph, v.in, v.out))
    return cuda_error(err);
  return ffi::Error::Success();
}

ffi::Error tp_conv_cuda(cudaStream_t stream, ffi::AnyBuffer a, ffi::AnyBuffer b,
                        ffi::AnyBuffer c, ffi::Buffer<ffi::S32> senders,
                        ffi::Buffer<ffi::S32> receivers, ffi::Buffer<ffi::S32> perm_r,
                        ffi::Buffer<ffi::S32> ptr_r, ffi::Buffer<ffi::S32> perm_s,
                        ffi::Buffer<ffi::S32> ptr_s, ffi::Buffer<ffi::S32> paths,
                        ffi::Buffer<ffi::S32> cg_ijk, ffi::AnyBuffer cg_val,
                        ffi::Buffer<ffi::S32> cg_ptr, ffi::Result<ffi::AnyBuffer> out,
                        int64_t slot, bool poison) {
  if (slot < 0 || slot > 3) return invalid("slot must be 0..3");
  const ffi_util::DenseBuffers dense{a, b, c};
  const ffi_util::IndexBuffers index{senders, receivers, perm_r, ptr_r, perm_s, ptr_s};
  switch (out->element_type()) {
    case ffi::F32:
      return run<float>(stream, static_cast<Slot>(slot), dense, index, paths, cg_ijk, cg_val,
                        cg_ptr, *out, poison);
    case ffi::F64:
      return run<double>(stream, static_cast<Slot>(slot), dense, index, paths, cg_ijk, cg_val,
                         cg_ptr, *out, poison);
    default:
      return invalid("only float32 and float64 are supported");
  }
}

}  // namespace
}  // namespace phonax

XLA_FFI_DEFINE_HANDLER_SYMBOL(PhonaxTpConvCuda, phonax::tp_conv_cuda,
                              phonax::ffi_util::tp_conv_signature(
                                  xla::ffi::Ffi::Bind().Ctx<xla::ffi::PlatformStream<cudaStream_t>>()));
