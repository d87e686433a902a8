// XLA FFI handler (CUDA) of target "phonax_tp_conv": operands and attributes in ffi_common.h
// (tp_conv_handler), kernels in kernels/tp_conv.cu launched on XLA's stream.
#include <cuda_runtime_api.h>

#include "ffi_common.h"
#include "ffi_targets.h"
#include "tp_conv_cuda.h"

namespace phonax {
namespace {

namespace ffi = xla::ffi;

ffi::Error cuda_error(cudaError_t err) {
  return ffi::Error(ffi::ErrorCode::kInternal,
                    std::string("phonax tp_conv (CUDA): ") + cudaGetErrorString(err));
}

// The CUDA backend of tp_conv_handler (ffi_common.h).
struct CudaBackend {
  using Context = cudaStream_t;

  template <typename T>
  static ffi::Error run(cudaStream_t stream, Slot slot, const ffi_util::Views<T>& v,
                        ffi::AnyBuffer& out, bool poison) {
    if (poison) {  // all-ones bytes are a NaN in float32 and float64
      if (cudaError_t err = cudaMemsetAsync(v.out.data, 0xFF, out.size_bytes(), stream))
        return cuda_error(err);
    }
    if (cudaError_t err = cuda::tp_conv<T>(stream, slot, v.table, v.graph, v.in, v.out))
      return cuda_error(err);
    return ffi::Error::Success();
  }
};

}  // namespace
}  // namespace phonax

XLA_FFI_DEFINE_HANDLER_SYMBOL(PhonaxTpConvCuda, phonax::ffi_util::tp_conv_handler<phonax::CudaBackend>,
                              phonax::ffi_util::tp_conv_signature(
                                  xla::ffi::Ffi::Bind().Ctx<xla::ffi::PlatformStream<cudaStream_t>>()));
