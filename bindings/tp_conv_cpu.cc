// XLA FFI handler (CPU) of target "phonax_tp_conv": the tensor-product convolution slot kernels.
//
// Operands and attributes: ffi_common.h (tp_conv_handler, one comment per argument); this file
// only says how the CPU runs the kernels: output rows split over XLA's intra-op pool.
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

// The CPU backend of tp_conv_handler (ffi_common.h).
struct CpuBackend {
  using Context = ffi::ThreadPool;

  template <typename T>
  static ffi::Error run(ffi::ThreadPool& pool, Slot slot, const ffi_util::Views<T>& v,
                        ffi::AnyBuffer& out, bool poison) {
    if (poison) std::fill_n(v.out.data, out.element_count(), std::numeric_limits<T>::quiet_NaN());
    parallel_rows(pool, v.out.rows, [&](int64_t begin, int64_t end) {
      tp_conv_rows<T>(slot, v.table, v.graph, v.in, v.out, begin, end);
    });
    return ffi::Error::Success();
  }
};

}  // namespace
}  // namespace phonax

XLA_FFI_DEFINE_HANDLER_SYMBOL(PhonaxTpConvCpu, phonax::ffi_util::tp_conv_handler<phonax::CpuBackend>,
                              phonax::ffi_util::tp_conv_signature(
                                  xla::ffi::Ffi::Bind().Ctx<xla::ffi::ThreadPool>()));
