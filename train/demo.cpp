#include "train/demo.h"

#include <chrono>
#include <cmath>

#include "ops/ops.h"
#include "train/optim.h"

namespace seqnet {

namespace {
// Points x ~ U(−1, 1)², targets y = sin(3·x1)·cos(2·x2).
void make_data(Generator& gen, int64_t n, Tensor& x, Tensor& y) {
  x = Tensor::uniform({n, 2}, -1.0, 1.0, DType::F32, gen);
  y = Tensor::empty({n, 1}, DType::F32);
  for (int64_t i = 0; i < n; ++i)
    y.data<float>()[i] = std::sin(3.f * x.at<float>({i, 0})) * std::cos(2.f * x.at<float>({i, 1}));
}

// PyTorch's nn.Linear initialisation: U(−1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
Variable init_param(Generator& gen, Shape shape, int64_t fan_in) {
  double b = 1.0 / std::sqrt(double(fan_in));
  return Variable(Tensor::uniform(shape, -b, b, DType::F32, gen), true);
}
}  // namespace

DemoResult run_demo(const DemoConfig& cfg, const std::function<void(int64_t, double)>& log) {
  auto t0 = std::chrono::steady_clock::now();
  Generator gen(cfg.seed);
  Tensor xt, yt, xv, yv;
  make_data(gen, cfg.points, xt, yt);
  make_data(gen, cfg.points, xv, yv);
  const int64_t H = cfg.hidden;
  Variable W1 = init_param(gen, {H, 2}, 2), b1 = init_param(gen, {H}, 2);
  Variable W2 = init_param(gen, {H, H}, H), b2 = init_param(gen, {H}, H);
  Variable W3 = init_param(gen, {1, H}, H), b3 = init_param(gen, {1}, H);
  Adam opt({W1, b1, W2, b2, W3, b3}, cfg.lr);

  auto forward = [&](const Tensor& x) {
    Variable h = tanh(linear(Variable(x), W1, b1));
    h = tanh(linear(h, W2, b2));
    return linear(h, W3, b3);
  };
  auto mse = [](const Variable& pred, const Tensor& y) {
    Variable d = pred - Variable(y);
    return mean(d * d);
  };

  DemoResult r;
  for (int64_t step = 1; step <= cfg.steps; ++step) {
    opt.zero_grad();
    Variable loss = mse(forward(xt), yt);
    loss.backward();
    opt.step();
    if (step == 1) r.first_loss = loss.item();
    r.final_loss = loss.item();
    if (log && (step == 1 || step % cfg.log_every == 0 || step == cfg.steps)) log(step, loss.item());
  }
  NoGradGuard ng;
  r.final_valid_loss = mse(forward(xv), yv).item();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace seqnet
