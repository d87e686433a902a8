// A CPU stand-in for the CUDA runtime and device built-ins that kernels/tp_conv.cu uses, so that
// its kernels run, unchanged, on CPU threads (tests/test_cuda_emulated.py). Found before the real
// header through -I; C++20 (std::barrier).
//
// Each launch runs its blocks one after another; the threads of a block are real threads, so
// __syncthreads is a barrier of the block and __shfl_down_sync one of the warp. What a GPU would
// leave undefined is made loud: dynamic shared memory starts as NaN bytes, more than 48 KiB of it
// needs cudaFuncSetAttribute as on a GPU, launch limits are checked, and a shuffle after a lane
// of its warp has exited is an error. cudaGetLastError reports the first problem of the launch.
#pragma once

#include <algorithm>
#include <barrier>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
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

struct Warp {
  std::optional<std::barrier<>> sync;
  uint64_t slots[kWarp];
  int exited = 0;
};

struct Block {
  std::optional<std::barrier<>> sync;
  std::vector<unsigned char> shared;
  std::vector<Warp> warps;
};

inline thread_local Block* block = nullptr;
inline thread_local uint3 thread_index, block_index;
inline thread_local dim3 block_dim, grid_dim;

struct State {
  std::mutex mu;
  cudaError_t error = cudaSuccess;
  std::map<const void*, int64_t> shared_limit;  // kernel -> opted-in dynamic shared memory
};
inline State& state() {
  static State s;
  return s;
}
inline void fail(cudaError_t err) {
  std::lock_guard<std::mutex> lock(state().mu);
  if (state().error == cudaSuccess) state().error = err;
}

// Runs kernel(args...) for every block of grid, the threads of each block side by side.
template <typename Kernel>
struct Launch {
  Kernel kernel;
  dim3 grid, threads;
  int64_t shared;

  template <typename... Args>
  void operator()(Args... args) const {
    const int64_t n = int64_t(threads.x) * threads.y * threads.z;
    int64_t limit = kDefaultSharedLimit;
    {
      std::lock_guard<std::mutex> lock(state().mu);
      auto it = state().shared_limit.find(reinterpret_cast<const void*>(kernel));
      if (it != state().shared_limit.end()) limit = std::max(limit, it->second);
    }
    if (n < 1 || n > 1024 || n % kWarp != 0 || grid.x < 1 || grid.y < 1 || grid.y > 65535 ||
        grid.z < 1 || grid.z > 65535) {
      fail(cudaErrorInvalidConfiguration);
      return;
    }
    if (shared < 0 || shared > limit) {
      fail(cudaErrorInvalidValue);
      return;
    }
    Block ctx;
    std::barrier<> start(n);
    auto body = [&](int64_t t) {
      thread_index = {unsigned(t % threads.x), unsigned(t / threads.x % threads.y),
                      unsigned(t / (int64_t(threads.x) * threads.y))};
      block_dim = threads;
      grid_dim = grid;
      block = &ctx;
      for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
          for (unsigned bx = 0; bx < grid.x; ++bx) {
            if (t == 0) {  // a fresh block: barriers, NaN-filled shared memory
              ctx.sync.emplace(n);
              ctx.shared.assign(shared, 0xFF);
              ctx.warps = std::vector<Warp>(n / kWarp);
              for (Warp& w : ctx.warps) w.sync.emplace(kWarp);
            }
            start.arrive_and_wait();
            block_index = {bx, by, bz};
            kernel(args...);
            Warp& w = ctx.warps[t / kWarp];
            {
              std::lock_guard<std::mutex> lock(state().mu);
              ++w.exited;
            }
            w.sync->arrive_and_drop();
            ctx.sync->arrive_and_drop();
            start.arrive_and_wait();  // every thread is done with this block
          }
    };
    std::vector<std::thread> pool;
    for (int64_t t = 1; t < n; ++t) pool.emplace_back(body, t);
    body(0);
    for (auto& th : pool) th.join();
  }
};

template <typename Kernel>
Launch<Kernel> launch(Kernel kernel, dim3 grid, dim3 threads, int64_t shared, cudaStream_t) {
  return {kernel, grid, threads, shared};
}

inline unsigned char* dynamic_shared() { return block->shared.data(); }

}  // namespace emu

#define threadIdx (::emu::thread_index)
#define blockIdx (::emu::block_index)
#define blockDim (::emu::block_dim)
#define gridDim (::emu::grid_dim)
#define PHONAX_LAUNCH(kernel, grid, threads, shared, stream) \
  ::emu::launch(kernel, grid, threads, shared, stream)
#define PHONAX_DYNAMIC_SHARED(name) unsigned char* name = ::emu::dynamic_shared()

inline void __syncthreads() { emu::block->sync->arrive_and_wait(); }

template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta) {
  static_assert(sizeof(T) <= sizeof(uint64_t));
  const unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  emu::Warp& w = emu::block->warps[t / emu::kWarp];
  const unsigned lane = t % emu::kWarp;
  {
    std::lock_guard<std::mutex> lock(emu::state().mu);
    if (mask != 0xffffffffu || w.exited != 0) emu::fail(cudaErrorLaunchFailure);
  }
  std::memcpy(&w.slots[lane], &value, sizeof(T));
  w.sync->arrive_and_wait();
  T result = value;
  if (lane + delta < emu::kWarp) std::memcpy(&result, &w.slots[lane + delta], sizeof(T));
  w.sync->arrive_and_wait();
  return result;
}

template <typename Kernel>
cudaError_t cudaFuncSetAttribute(Kernel kernel, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 ||
      value > emu::kSharedOptInLimit)
    return cudaErrorInvalidValue;
  std::lock_guard<std::mutex> lock(emu::state().mu);
  emu::state().shared_limit[reinterpret_cast<const void*>(kernel)] = value;
  return cudaSuccess;
}

inline cudaError_t cudaGetLastError() {
  std::lock_guard<std::mutex> lock(emu::state().mu);
  const cudaError_t err = emu::state().error;
  emu::state().error = cudaSuccess;
  return err;
}

inline const char* cudaGetErrorString(cudaError_t err) {
  return err == cudaSuccess ? "no error" : "emulated CUDA error";
}
