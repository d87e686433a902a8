// A CPU stand-in for the CUDA runtime and device built-ins that kernels/tp_conv.cu uses, so that
// its kernels run, unchanged, on the CPU (tests/test_cuda_emulated.py). Found before the real header
// through -I; C++17, POSIX ucontext.
//
// Each launch runs its blocks one after another; the threads of a block are fibers (ucontext) that
// one OS thread runs in turn, switching at __syncthreads (a barrier of the block) and at
// __shfl_down_sync (a barrier of the warp), so the order is deterministic and the cost does not
// depend on the machine's load. What a GPU would leave undefined is made loud: more than 48 KiB of
// dynamic shared memory needs cudaFuncSetAttribute as on a GPU, launch limits are checked, a
// shuffle after a lane of its warp has exited and a barrier that can never complete (a deadlock)
// are errors. Launches alternate between two schedules and two fillings of shared memory: threads
// in index order with NaN bytes (0xFF: −1 as an int), then in reverse order with 0x7F bytes (huge
// numbers), so a kernel that reads shared memory before writing it, or lets threads race between
// two barriers, gives different results in two runs. cudaGetLastError reports the first problem.
// Not covered: divergent shuffles (arrivals are counted, not call sites), races between blocks.
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __shared__

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorLaunchFailure = 719,
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
using cudaStream_t = struct CUstream_st*;

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct int2 {
  int x, y;
};
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }

namespace emu {

constexpr int kWarp = 32;
constexpr int64_t kDefaultSharedLimit = 48 * 1024;  // without the opt-in attribute
constexpr int64_t kSharedOptInLimit = 227 * 1024;   // H100 / H200 opt-in maximum per block
constexpr size_t kStack = 256 * 1024;               // bytes of stack per fiber

// A barrier of cooperative fibers; exited fibers drop out of it (as exited GPU threads do).
struct Barrier {
  int participants = 0, arrived = 0;
  uint64_t phase = 0;
};

struct Warp {
  Barrier sync;
  uint64_t slots[kWarp];
  int exited = 0;
};

struct State {
  cudaError_t error = cudaSuccess;
  std::map<const void*, int64_t> shared_limit;  // kernel -> opted-in dynamic shared memory
  // the block being run
  Barrier sync;
  std::vector<unsigned char> shared;
  std::vector<Warp> warps;
  std::vector<ucontext_t> fibers;
  std::vector<char> done;
  ucontext_t scheduler;
  int current = 0;
  uint64_t progress = 0;  // arrivals, releases and exits: a round without any is a deadlock
  uint64_t launches = 0;  // odd launches: reverse order, 0x7F filling
  std::function<void()> body;
  dim3 block_dim, grid_dim;
  uint3 block_index;
};
inline State& state() {
  static State s;
  return s;
}
inline void fail(cudaError_t err) {
  if (state().error == cudaSuccess) state().error = err;
}

inline void yield() {
  State& s = state();
  swapcontext(&s.fibers[s.current], &s.scheduler);
}

inline void release(Barrier& bar) {
  bar.arrived = 0;
  ++bar.phase;
  ++state().progress;
}

inline void arrive_and_wait(Barrier& bar) {
  const uint64_t phase = bar.phase;
  ++state().progress;
  if (++bar.arrived == bar.participants) return release(bar);
  while (bar.phase == phase) yield();
}

inline void arrive_and_drop(Barrier& bar) {
  if (--bar.participants > 0 && bar.arrived == bar.participants) release(bar);
}

inline uint3 thread_index() {
  const State& s = state();
  const unsigned t = s.current;
  return {t % s.block_dim.x, t / s.block_dim.x % s.block_dim.y, t / (s.block_dim.x * s.block_dim.y)};
}

// A fresh fiber on `stack` that runs fiber_main, then returns to the scheduler. Out of line, so
// that getcontext (which the compiler treats as returning twice) stays out of the launch loops.
[[gnu::noinline]] inline void prepare_fiber(ucontext_t* fiber, char* stack, void (*entry)()) {
  getcontext(fiber);
  fiber->uc_stack.ss_sp = stack;
  fiber->uc_stack.ss_size = kStack;
  fiber->uc_link = &state().scheduler;
  makecontext(fiber, entry, 0);
}

inline void fiber_main() {
  State& s = state();
  s.body();
  s.done[s.current] = 1;
  ++s.progress;
  Warp& w = s.warps[s.current / kWarp];
  ++w.exited;
  arrive_and_drop(w.sync);
  arrive_and_drop(s.sync);
}  // returns to the scheduler through uc_link

// Runs kernel(args...) for every block of grid, the threads of each block as fibers.
template <typename Kernel>
struct Launch {
  Kernel kernel;
  dim3 grid, threads;
  int64_t shared;

  template <typename... Args>
  void operator()(Args... args) const {
    State& s = state();
    const int n = static_cast<int>(int64_t(threads.x) * threads.y * threads.z);
    int64_t limit = kDefaultSharedLimit;
    auto it = s.shared_limit.find(reinterpret_cast<const void*>(kernel));
    if (it != s.shared_limit.end()) limit = std::max(limit, it->second);
    if (n < 1 || n > 1024 || n % kWarp != 0 || grid.x < 1 || grid.x > 2147483647u || grid.y < 1 ||
        grid.y > 65535 || grid.z < 1 || grid.z > 65535)
      return fail(cudaErrorInvalidConfiguration);
    if (shared < 0 || shared > limit) return fail(cudaErrorInvalidValue);
    const bool reverse = s.launches++ % 2 == 1;
    std::vector<char> stacks(size_t(n) * kStack);
    s.block_dim = threads;
    s.grid_dim = grid;
    s.body = [&] { kernel(args...); };
    for (unsigned bz = 0; bz < grid.z; ++bz)
      for (unsigned by = 0; by < grid.y; ++by)
        for (unsigned bx = 0; bx < grid.x; ++bx) {
          s.block_index = {bx, by, bz};
          s.sync = Barrier{n};
          s.shared.assign(shared, reverse ? 0x7F : 0xFF);
          s.warps.assign(n / kWarp, Warp{});
          for (Warp& w : s.warps) w.sync.participants = kWarp;
          s.fibers.assign(n, ucontext_t{});
          s.done.assign(n, 0);
          for (int t = 0; t < n; ++t)
            prepare_fiber(&s.fibers[t], stacks.data() + size_t(t) * kStack, fiber_main);
          for (int alive = n; alive > 0;) {
            const uint64_t before = s.progress;
            for (int k = 0; k < n; ++k) {
              const int t = reverse ? n - 1 - k : k;
              if (s.done[t]) continue;
              s.current = t;
              swapcontext(&s.scheduler, &s.fibers[t]);
              alive -= s.done[t];
            }
            if (alive > 0 && s.progress == before) return fail(cudaErrorLaunchFailure);  // deadlock
          }
        }
  }
};

template <typename Kernel>
Launch<Kernel> launch(Kernel kernel, dim3 grid, dim3 threads, int64_t shared, cudaStream_t) {
  return {kernel, grid, threads, shared};
}

inline unsigned char* dynamic_shared() { return state().shared.data(); }

}  // namespace emu

#define threadIdx (::emu::thread_index())
#define blockIdx (::emu::state().block_index)
#define blockDim (::emu::state().block_dim)
#define gridDim (::emu::state().grid_dim)
#define PHONAX_LAUNCH(kernel, grid, threads, shared, stream) \
  ::emu::launch(kernel, grid, threads, shared, stream)
#define PHONAX_DYNAMIC_SHARED(name) unsigned char* name = ::emu::dynamic_shared()

inline void __syncthreads() { emu::arrive_and_wait(emu::state().sync); }

template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta) {
  static_assert(sizeof(T) <= sizeof(uint64_t));
  emu::State& s = emu::state();
  emu::Warp& w = s.warps[s.current / emu::kWarp];
  const unsigned lane = s.current % emu::kWarp;
  if (mask != 0xffffffffu || w.exited != 0) emu::fail(cudaErrorLaunchFailure);
  std::memcpy(&w.slots[lane], &value, sizeof(T));
  emu::arrive_and_wait(w.sync);
  T result = value;
  if (lane + delta < emu::kWarp) std::memcpy(&result, &w.slots[lane + delta], sizeof(T));
  emu::arrive_and_wait(w.sync);
  return result;
}

template <typename Kernel>
cudaError_t cudaFuncSetAttribute(Kernel kernel, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 ||
      value > emu::kSharedOptInLimit)
    return cudaErrorInvalidValue;
  emu::state().shared_limit[reinterpret_cast<const void*>(kernel)] = value;
  return cudaSuccess;
}

inline cudaError_t cudaGetLastError() {
  const cudaError_t err = emu::state().error;
  emu::state().error = cudaSuccess;
  return err;
}

inline const char* cudaGetErrorString(cudaError_t err) {
  return err == cudaSuccess ? "no error" : "emulated CUDA error";
}
