// ops/kernels/activation.h — the activation family's kernel contract (all tensors contiguous,
// one shape).
//
//   forward(Tanh)       y := tanh(x)                 backward: dx := dy · (1 − y²)       saved = y
//   forward(Sigmoid)    y := 1 / (1 + e^−x)          backward: dx := dy · y · (1 − y)    saved = y
//   forward(LeakyRelu)  y := x > 0 ? x : slope·x     backward: dx := s > 0 ? dy : slope·dy   saved = y
//                       (s = y when slope ≥ 0: then y > 0 ⟺ x > 0, NaN and ±0 included, so the
//                       output decides the branch as the input would; s = x for a negative slope)
//                       (ReLU is slope 0)
//   add_relu_forward    s := a + b,  y := s > 0 ? s : 0·s   (relu(a + b), one pass; its backward is
//                       LeakyRelu's with slope 0 on y, the same gradient for a and b)
//   gated_forward       t := tanh(f), s := σ(g), y := t·s   (the WaveNet unit, one pass)
//   gated_backward      df := dy·s·(1 − t²),  dg := dy·t·s·(1 − s)
#pragma once
#include "core/tensor.h"

namespace seqnet {

enum class Activation { Tanh, Sigmoid, LeakyRelu };

struct ActivationKernels {
  void (*forward)(Activation a, const Tensor& x, Tensor& y, double slope);
  void (*backward)(Activation a, const Tensor& saved, const Tensor& dy, Tensor& dx, double slope);
  void (*add_relu_forward)(const Tensor& a, const Tensor& b, Tensor& y);
  void (*gated_forward)(const Tensor& f, const Tensor& g, Tensor& y, Tensor& t, Tensor& s);
  void (*gated_backward)(const Tensor& t, const Tensor& s, const Tensor& dy, Tensor& df, Tensor& dg);
};

}  // namespace seqnet
