// XLA FFI handler (CPU) of target "phonax_tp_conv": the tensor-product convolution slot kernels.
//
// Operands (see ffi_common.h): the three dense inputs of the slot, each [batch?, rows, width];
// senders, receivers, perm_r, ptr_r, perm_s, ptr_s (int32); the path table (core/tp_conv.h).
// Attributes: slot (0 = x, 1 = y, 2 = w, 3 = z), poison (fill the output with NaN first: lets a
// test check that every element is written). Output rows are split over XLA's intra-op pool.
#include <atomic>
#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>

#include "ffi_common.h"
#include "ffi_targets.h"

namespace phonax {
namespace {

namespace ffi = xla::ffi;
using ffi_util::invalid;

// Runs body(begin, end) over [0, n) in chunks, on the calling thread and on pool workers that
// claim chunks from a shared counter. The caller waits only for chunks already claimed (they are
// running), never for queued tasks, so several handlers blocking in one pool cannot deadlock;
// a task that starts after every chunk was claimed returns at once.
template <typename F>
void parallel_rows(ffi::ThreadPool& pool, int64_t n, const F& body) {
  const int64_t workers = std::max<int64_t>(1, pool.num_threads());
  const int64_t chunks = std::min<int64_t>(n, 4 * workers);
  if (chunks <= 1 || workers <= 1) {
    body(0, n);
    return;
  }
  struct State {
    std::atomic<int64_t> next{0}, finished{0};
    std::mutex mu;
    std::condition_variable cv;
  };
  auto state = std::make_shared<State>();
  auto work = [state, chunks, n, &body] {
    for (int64_t c; (c = state->next.fetch_add(1)) < chunks;) {
      body(n * c / chunks, n * (c + 1) / chunks);
      if (state->finished.fetch_add(1) + 1 == chunks) {
        std::lock_guard<std::mutex> lock(state->mu);
        state->cv.notify_all();
      }
    }
  };
  for (int64_t w = 1; w < std::min(workers, chunks); ++w) pool.Schedule([work] { work(); });
  work();
  std::unique_lock<std::mutex> lock(state->mu);
  state->cv.wait(lock, [&] { return state->finished.load() == chunks; });
}

template <typename T>
ffi::Error run(ffi::ThreadPool& pool, Slot slot, const ffi_util::DenseBuffers& dense,
               const ffi_util::IndexBuffers& index, ffi::Buffer<ffi::S32> paths,
               ffi::Buffer<ffi::S32> cg_ijk, ffi::AnyBuffer cg_val, ffi::Buffer<ffi::S32> cg_ptr,
               ffi::AnyBuffer& out, bool poison) {
  ffi_util::Views<T> v{};
  ffi::Error status =
      ffi_util::make_views<T>(slot, dense, index, paths, cg_ijk, cg_val, cg_ptr, out, &v);
  if (status.failure()) return status;
  if (poison) std::fill_n(v.out.data, out.element_count(), std::numeric_limits<T>::quiet_NaN());
  parallel_rows(pool, v.out.rows, [&](int64_t begin, int64_t end) {
    tp_conv_rows<T>(slot, v.table, v.graph, v.in, v.out, begin, end);
  });
  return ffi::Error::Success();
}

ffi::Error tp_conv_cpu(ffi::ThreadPool pool, ffi::AnyBuffer a, ffi::AnyBuffer b, ffi::AnyBuffer c,
                       ffi::Buffer<ffi::S32> senders, ffi::Buffer<ffi::S32> receivers,
                       ffi::Buffer<ffi::S32> perm_r, ffi::Buffer<ffi::S32> ptr_r,
                       ffi::Buffer<ffi::S32> perm_s, ffi::Buffer<ffi::S32> ptr_s,
                       ffi::Buffer<ffi::S32> paths, ffi::Buffer<ffi::S32> cg_ijk,
                       ffi::AnyBuffer cg_val, ffi::Buffer<ffi::S32> cg_ptr,
                       ffi::Result<ffi::AnyBuffer> out, int64_t slot, bool poison) {
  if (slot < 0 || slot > 3) return invalid("slot must be 0..3");
  const ffi_util::DenseBuffers dense{a, b, c};
  const ffi_util::IndexBuffers index{senders, receivers, perm_r, ptr_r, perm_s, ptr_s};
  switch (out->element_type()) {
    case ffi::F32:
      return run<float>(pool, static_cast<Slot>(slot), dense, index, paths, cg_ijk, cg_val,
                        cg_ptr, *out, poison);
    case ffi::F64:
      return run<double>(pool, static_cast<Slot>(slot), dense, index, paths, cg_ijk, cg_val,
                         cg_ptr, *out, poison);
    default:
      return invalid("only float32 and float64 are supported");
  }
}

}  // namespace
}  // namespace phonax

XLA_FFI_DEFINE_HANDLER_SYMBOL(PhonaxTpConvCpu, phonax::tp_conv_cpu,
                              phonax::ffi_util::tp_conv_signature(
                                  xla::ffi::Ffi::Bind().Ctx<xla::ffi::ThreadPool>()));
