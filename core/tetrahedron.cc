#include "tetrahedron.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

namespace phonax {
namespace {

constexpr double kEpsilon = 1e-10;  // phonopy's THM_EPSILON

// Values at the 4 vertices, ascending, and the rank of the central vertex.
struct Tetrahedron {
  double v[4];
  int central;
};

// (w - v[m]) / (v[n] - v[m]), 0 for a degenerate edge.
inline double f(const double* v, double w, int n, int m) {
  const double d = v[n] - v[m];
  return std::fabs(d) < kEpsilon ? 0.0 : (w - v[m]) / d;
}

// I_c(w) g(w) for v[0] <= w < v[3] (zero elsewhere).
double weight(const Tetrahedron& t, double w) {
  const double* v = t.v;
  const int c = t.central;
  const double span = v[3] - v[0];
  if (w < v[1]) {
    const double g = 3.0 * f(v, w, 1, 0) * f(v, w, 2, 0) / span;
    switch (c) {
      case 0: return g * (f(v, w, 0, 1) + f(v, w, 0, 2) + f(v, w, 0, 3)) / 3.0;
      case 1: return g * f(v, w, 1, 0) / 3.0;
      case 2: return g * f(v, w, 2, 0) / 3.0;
      default: return g * f(v, w, 3, 0) / 3.0;
    }
  }
  if (w < v[2]) {
    const double f12 = f(v, w, 1, 2), f20 = f(v, w, 2, 0), f21 = f(v, w, 2, 1), f13 = f(v, w, 1, 3);
    const double den = f12 * f20 + f21 * f13;
    if (den < kEpsilon) return 0.0;
    const double g = 3.0 / span * den;
    double i;
    switch (c) {
      case 0: i = f(v, w, 0, 3) + f(v, w, 0, 2) * f20 * f12 / den; break;
      case 1: i = f12 + f13 * f13 * f21 / den; break;
      case 2: i = f21 + f20 * f20 * f12 / den; break;
      default: i = f(v, w, 3, 0) + f(v, w, 3, 1) * f13 * f21 / den; break;
    }
    return g * i / 3.0;
  }
  const double g = 3.0 * f(v, w, 1, 3) * f(v, w, 2, 3) / span;
  switch (c) {
    case 0: return g * f(v, w, 0, 3) / 3.0;
    case 1: return g * f(v, w, 1, 3) / 3.0;
    case 2: return g * f(v, w, 2, 3) / 3.0;
    default: return g * (f(v, w, 3, 0) + f(v, w, 3, 1) + f(v, w, 3, 2)) / 3.0;
  }
}

// Grid indices of the 4 vertices of each of the 24 tetrahedra around grid point g.
void vertex_indices(const TetrahedronGrid& grid, int64_t g, int64_t out[24][4]) {
  const int64_t* n = grid.mesh;
  const int64_t a[3] = {g % n[0], g / n[0] % n[1], g / (n[0] * n[1])};
  for (int t = 0; t < 24; ++t) {
    for (int k = 0; k < 4; ++k) {
      const int64_t* r = grid.relative + (t * 4 + k) * 3;
      int64_t b[3];
      for (int d = 0; d < 3; ++d) b[d] = ((a[d] + r[d]) % n[d] + n[d]) % n[d];
      out[t][k] = b[0] + n[0] * (b[1] + n[1] * b[2]);
    }
  }
}

Tetrahedron make_tetrahedron(const TetrahedronGrid& grid, const int64_t vertices[4], int64_t band) {
  Tetrahedron t;
  int order[4] = {0, 1, 2, 3};
  double raw[4];
  for (int k = 0; k < 4; ++k) raw[k] = grid.values[vertices[k] * grid.n_band + band];
  std::sort(order, order + 4, [&](int x, int y) { return raw[x] < raw[y] || (raw[x] == raw[y] && x < y); });
  for (int k = 0; k < 4; ++k) {
    t.v[k] = raw[order[k]];
    if (order[k] == 0) t.central = k;
  }
  return t;
}

// Calls add(f, W_t(freqs[f]) / 6) for every sampling point inside the tetrahedron's range.
template <typename Add>
void for_each_weight(const Tetrahedron& t, const double* freqs, int64_t n_freq, Add add) {
  const int64_t lo = std::lower_bound(freqs, freqs + n_freq, t.v[0]) - freqs;
  const int64_t hi = std::lower_bound(freqs, freqs + n_freq, t.v[3]) - freqs;
  for (int64_t k = lo; k < hi; ++k) add(k, weight(t, freqs[k]) / 6.0);
}

// Runs body(first, last) over [0, n) in blocks of kBlock on all hardware threads; block b always
// covers the same points, so per-block results do not depend on the number of threads.
constexpr int64_t kBlock = 64;

template <typename Body>
void parallel_blocks(int64_t n, Body body) {
  const int64_t n_blocks = (n + kBlock - 1) / kBlock;
  const int64_t n_threads = std::min<int64_t>(std::max(1u, std::thread::hardware_concurrency()), n_blocks);
  auto work = [&](int64_t t) {
    for (int64_t b = t; b < n_blocks; b += n_threads) body(b, b * kBlock, std::min(n, (b + 1) * kBlock));
  };
  std::vector<std::thread> threads;
  for (int64_t t = 1; t < n_threads; ++t) threads.emplace_back(work, t);
  work(0);
  for (auto& thread : threads) thread.join();
}

}  // namespace

void tetrahedron_weights(const TetrahedronGrid& grid, const int64_t* grid_points, int64_t n_points,
                         const double* freqs, int64_t n_freq, double* weights) {
  const int64_t nb = grid.n_band;
  std::fill(weights, weights + n_points * n_freq * nb, 0.0);
  parallel_blocks(n_points, [&](int64_t, int64_t first, int64_t last) {
    int64_t vertices[24][4];
    for (int64_t p = first; p < last; ++p) {
      vertex_indices(grid, grid_points[p], vertices);
      double* w = weights + p * n_freq * nb;
      for (int64_t b = 0; b < nb; ++b) {
        for (int t = 0; t < 24; ++t) {
          for_each_weight(make_tetrahedron(grid, vertices[t], b), freqs, n_freq,
                          [&](int64_t k, double x) { w[k * nb + b] += x; });
        }
      }
    }
  });
}

void tetrahedron_dos(const TetrahedronGrid& grid, const int64_t* grid_points,
                     const double* point_weights, int64_t n_points, const double* freqs,
                     int64_t n_freq, double* dos) {
  const int64_t n_blocks = (n_points + kBlock - 1) / kBlock;
  std::vector<double> partial(n_blocks * n_freq, 0.0);  // one row per block, summed in order
  parallel_blocks(n_points, [&](int64_t block, int64_t first, int64_t last) {
    double* row = partial.data() + block * n_freq;
    int64_t vertices[24][4];
    for (int64_t p = first; p < last; ++p) {
      vertex_indices(grid, grid_points[p], vertices);
      const double pw = point_weights[p];
      for (int64_t b = 0; b < grid.n_band; ++b) {
        for (int t = 0; t < 24; ++t) {
          for_each_weight(make_tetrahedron(grid, vertices[t], b), freqs, n_freq,
                          [&](int64_t k, double x) { row[k] += pw * x; });
        }
      }
    }
  });
  for (int64_t block = 0; block < n_blocks; ++block)
    for (int64_t k = 0; k < n_freq; ++k) dos[k] += partial[block * n_freq + k];
}

}  // namespace phonax
