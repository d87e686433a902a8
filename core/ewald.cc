#include "ewald.h"

#include <cmath>

namespace phonax {

void gonze_weighted_outer(const double* q_cart, const double* directions, const uint8_t* has_direction,
                          int64_t n_q, const double* g_cart, int64_t n_g, const double* epsilon,
                          double lambda, double tolerance, double* out) {
  const double* e = epsilon;
  const double inv_four_lambda2 = 1.0 / (4.0 * lambda * lambda);
  const double tol2 = tolerance * tolerance;
  static constexpr int kA[6] = {0, 0, 0, 1, 1, 2};
  static constexpr int kB[6] = {0, 1, 2, 1, 2, 2};
  for (int64_t p = 0; p < n_q; ++p) {
    const double* q = q_cart + 3 * p;
    const double* d = directions + 3 * p;
    double* row = out + p * 6 * n_g;
    for (int64_t g = 0; g < n_g; ++g) {
      double v[3] = {q[0] + g_cart[3 * g], q[1] + g_cart[3 * g + 1], q[2] + g_cart[3 * g + 2]};
      const bool at_gamma = v[0] * v[0] + v[1] * v[1] + v[2] * v[2] < tol2;
      if (at_gamma) v[0] = d[0], v[1] = d[1], v[2] = d[2];
      double vev = 0.0;
      for (int a = 0; a < 3; ++a) vev += (e[3 * a] * v[0] + e[3 * a + 1] * v[1] + e[3 * a + 2] * v[2]) * v[a];
      double w = 0.0;
      if (vev > 0.0 && !(at_gamma && !has_direction[p]))
        w = (at_gamma ? 1.0 : std::exp(-vev * inv_four_lambda2)) / vev;
      for (int c = 0; c < 6; ++c) row[c * n_g + g] = v[kA[c]] * (v[kB[c]] * w);
    }
  }
}

}  // namespace phonax
