// Gonze–Lee dipole–dipole Ewald sum: the damped outer products over K = q + G (phonopy's
// DynamicalMatrixGL, the same arithmetic), the elementwise part of harmonic/nac.py's `_gonze`.
//
// For q-point p (Cartesian, 1/Å, as q @ reciprocal.T) and reciprocal vector g:
//   K = q_p + G_g; v = d_p (the direction of approach) where |K| < tolerance, else K;
//   w = exp(−v·ε·v / 4Λ²) / (v·ε·v), with the exponential replaced by 1 where |K| < tolerance,
//   and w = 0 where v·ε·v ≤ 0 or where |K| < tolerance and q-point p has no direction;
//   out[p][c][g] = v_a (v_b w) for the six pairs c = (a, b), a ≤ b:
//   (0,0) (0,1) (0,2) (1,1) (1,2) (2,2).
#pragma once

#include <cstdint>

namespace phonax {

// q_cart (n_q, 3), directions (n_q, 3), has_direction (n_q), g_cart (n_g, 3), epsilon (3, 3)
// row-major; out (n_q, 6, n_g).
void gonze_weighted_outer(const double* q_cart, const double* directions, const uint8_t* has_direction,
                          int64_t n_q, const double* g_cart, int64_t n_g, const double* epsilon,
                          double lambda, double tolerance, double* out);

}  // namespace phonax
