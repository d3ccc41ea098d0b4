// train/data/synthetic_data.cpp — see synthetic_data.h.
#include "train/data/synthetic_data.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace seqnet {

void make_copy_memory(int64_t n, int64_t T, Generator& gen, Tensor& x, Tensor& y) {
  check(n > 0, "make_copy_memory: n must be positive, got {}", n);
  check(T >= 1, "make_copy_memory: T must be >= 1, got {}", T);
  const int64_t L = T + 20;
  std::vector<float> u(size_t(n * 10));
  gen.uniform(u.data(), n * 10, 0.0f, 1.0f);
  x = Tensor::zeros({n, 1, L}, DType::F32);
  y = Tensor::empty({n, 10}, DType::I64);
  float* px = x.data<float>();
  int64_t* py = y.data<int64_t>();
  for (int64_t s = 0; s < n; ++s) {
    float* row = px + s * L;
    for (int64_t k = 0; k < 10; ++k) {
      // u in [0, 1) on a 2^-24 grid, so floor(8u) is exactly uniform in 0..7.
      int64_t d = 1 + std::min<int64_t>(7, int64_t(std::floor(u[size_t(s * 10 + k)] * 8.0f)));
      row[k] = float(d);
      py[s * 10 + k] = d;
    }
    // positions 10 .. 10+T-2 stay zero (T−1 zeros); then 11 nines
    for (int64_t t = 10 + T - 1; t < L; ++t) row[t] = 9.0f;
  }
}

void make_adding(int64_t n, int64_t T, Generator& gen, Tensor& x, Tensor& y) {
  check(n > 0, "make_adding: n must be positive, got {}", n);
  check(T >= 2, "make_adding: T must be >= 2 (one marker in each half), got {}", T);
  x = Tensor::zeros({n, 2, T}, DType::F32);
  y = Tensor::empty({n, 1}, DType::F32);
  float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t s = 0; s < n; ++s) gen.uniform(px + s * 2 * T, T, 0.0f, 1.0f);  // channel 0
  std::vector<double> u(size_t(2 * n));
  gen.uniform(u.data(), 2 * n, 0.0, 1.0);
  const int64_t h = T / 2;
  for (int64_t s = 0; s < n; ++s) {
    int64_t p1 = std::min<int64_t>(h - 1, int64_t(u[size_t(2 * s)] * double(h)));
    int64_t p2 = h + std::min<int64_t>(T - h - 1, int64_t(u[size_t(2 * s + 1)] * double(T - h)));
    const float* v = px + s * 2 * T;
    float* m = px + s * 2 * T + T;
    m[p1] = 1.0f;
    m[p2] = 1.0f;
    py[s] = v[p1] + v[p2];
  }
}

}  // namespace seqnet
