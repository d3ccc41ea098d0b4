// tests/gradcheck.h — the reusable gradient checker.
//
// gradcheck(f, inputs) checks the analytic gradients that autograd computes for f against
// central finite differences, in double precision:
//   1. L(x) = Σ f(x) ⊙ R with a fixed random R (so every output element matters);
//   2. analytic: backward of L gives ∂L/∂x_i for every input that requires grad;
//   3. numeric, per input i:
//        - every element (if the input has ≤ max_elementwise elements):
//              (L(x + h·e_k) − L(x − h·e_k)) / 2h  vs  (∂L/∂x_i)_k
//        - plus `directions` random directions v:
//              (L(x + h·v) − L(x − h·v)) / 2h      vs  ⟨∂L/∂x_i, v⟩
// Failures are reported with the op name, the input index and the worst element.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "autograd/variable.h"

namespace seqnet::testing {

struct GradcheckOptions {
  double eps = 1e-6;        // finite-difference step
  double atol = 1e-7;       // |analytic − numeric| <= atol + rtol · |numeric|
  double rtol = 1e-5;
  int64_t max_elementwise = 400;
  int directions = 3;
  uint64_t seed = 1234;
};

using OpFn = std::function<Variable(const std::vector<Variable>&)>;

inline double objective(const OpFn& f, const std::vector<Tensor>& xs, const Tensor& R) {
  NoGradGuard ng;
  std::vector<Variable> vs;
  for (const Tensor& x : xs) vs.emplace_back(x);
  Tensor y = f(vs).data().contiguous();
  const double* py = y.data<double>();
  const double* pr = R.data<double>();
  double s = 0;
  for (int64_t i = 0; i < y.numel(); ++i) s += py[i] * pr[i];
  return s;
}

// `inputs`: f64 tensors; needs_grad[i] says whether input i is checked (i64 inputs, e.g. indices,
// and inputs that are not differentiable are passed with needs_grad = false).
inline ::testing::AssertionResult gradcheck(const std::string& name, const OpFn& f, std::vector<Tensor> inputs,
                                            std::vector<bool> needs_grad = {}, GradcheckOptions opt = {}) {
  if (needs_grad.empty()) needs_grad.assign(inputs.size(), true);
  Generator gen(opt.seed);
  for (auto& x : inputs) x = x.contiguous().clone();
  // Analytic gradients.
  std::vector<Variable> vars;
  for (size_t i = 0; i < inputs.size(); ++i) vars.emplace_back(inputs[i], needs_grad[i]);
  Variable y = f(vars);
  if (y.dtype() != DType::F64) return ::testing::AssertionFailure() << name << ": output is not f64";
  Tensor R = Tensor::uniform(y.shape(), -1.0, 1.0, DType::F64, gen);
  if (!y.requires_grad()) return ::testing::AssertionFailure() << name << ": output does not require grad";
  y.backward(R);

  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!needs_grad[i]) continue;
    Tensor g = vars[i].grad();
    if (!g.defined()) g = Tensor::zeros(inputs[i].shape(), DType::F64);
    g = g.contiguous();
    if (g.shape() != inputs[i].shape())
      return ::testing::AssertionFailure() << name << ": grad of input " << i << " has shape " << shape_str(g.shape());
    const int64_t n = inputs[i].numel();
    auto numeric = [&](const Tensor& dir) {
      std::vector<Tensor> plus = inputs, minus = inputs;
      plus[i] = inputs[i].clone();
      minus[i] = inputs[i].clone();
      double* pp = plus[i].data<double>();
      double* pm = minus[i].data<double>();
      const double* d = dir.data<double>();
      for (int64_t k = 0; k < n; ++k) {
        pp[k] += opt.eps * d[k];
        pm[k] -= opt.eps * d[k];
      }
      return (objective(f, plus, R) - objective(f, minus, R)) / (2 * opt.eps);
    };
    auto compare = [&](double analytic, double num, const std::string& where) -> ::testing::AssertionResult {
      if (std::isfinite(analytic) && std::fabs(analytic - num) <= opt.atol + opt.rtol * std::fabs(num))
        return ::testing::AssertionSuccess();
      return ::testing::AssertionFailure() << name << ": gradient of input " << i << " (shape "
                                           << shape_str(inputs[i].shape()) << ") " << where << ": analytic "
                                           << analytic << " vs numeric " << num;
    };
    const double* pg = g.data<double>();
    if (n <= opt.max_elementwise) {
      for (int64_t k = 0; k < n; ++k) {
        Tensor e = Tensor::zeros(inputs[i].shape(), DType::F64);
        e.data<double>()[k] = 1.0;
        auto r = compare(pg[k], numeric(e), "element " + std::to_string(k));
        if (!r) return r;
      }
    }
    for (int d = 0; d < opt.directions; ++d) {
      Tensor v = Tensor::uniform(inputs[i].shape(), -1.0, 1.0, DType::F64, gen);
      double dot = 0;
      for (int64_t k = 0; k < n; ++k) dot += pg[k] * v.data<double>()[k];
      auto r = compare(dot, numeric(v), "direction " + std::to_string(d));
      if (!r) return r;
    }
  }
  return ::testing::AssertionSuccess();
}

// Random f64 tensor in [lo, hi).
inline Tensor rand64(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Generator g(seed);
  return Tensor::uniform(s, lo, hi, DType::F64, g);
}

}  // namespace seqnet::testing
