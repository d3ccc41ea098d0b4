// models/step/sampling.h — the generation loop on the stepper's device: draw a symbol from the
// newest logits, feed it back, repeat, without the host touching a sample in between.
//
// On the CPU this is the same loop `seqnet generate` always ran. On a GPU everything stays on the
// device: the sampling kernel draws the indices from the logits (the same Philox stream as the
// CPU: step s, sequence n uses block first + s·N + n), writes them where the next step reads its
// input and into a history buffer, and a counter on the device says which step it is. The host
// only queues work, and reads the history once at the end.
//
// Queuing one step's kernels one by one costs the host a few microseconds per kernel, which at
// batch 1 is more than the GPU needs to run them. So, where the device can record (CUDA graphs),
// the first step of every phase (Stepper::phase(): steps that queue the same kernels on the same
// buffers) is recorded once — the step, then the draw, whose kernel also ticks the counter — and
// every later step of that phase is one replay. The WaveNet has one phase (its queue position lives on the device); the
// residual Seq-U-Net one per power of two that divides its clock.
//
//   Stepper st(model, step::Weights::F32, Device::cuda(0));
//   Tensor y = st.save(prompt);                           // (N, C, T_out) on the model's device
//   Tensor ids = step::generate(st, newest_column(y), 16000, 1.0, g);   // (16000, N) i64 on the host
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "core/device_api.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "ops/backend.h"

namespace seqnet::step {

struct GenerateStats {
  int64_t recordings = 0;  // phases recorded (0: every step queued its kernels one by one)
  int64_t replays = 0;     // steps run as a replay (every step but the last, which is queued)
};

// `first` (N, C) f32, contiguous, on the stepper's device: the logits the first symbol is drawn
// from (the newest column of the save output). Returns the `steps` drawn symbols (steps, N) i64
// on the host; the stepper has then taken steps − 1 steps (the last symbol is drawn, not fed).
// temperature 0: greedy. `record`: use recordings where the device supports them. `progress`
// (may be empty) is called with the number of steps queued so far (on a GPU the device runs a
// little behind the host: the launch queue is bounded).
namespace detail {

// The loop both draws share: steps 1 … end − 1, each one_step() (the stepper's step, the draw
// with its counter tick), recorded once per stepper phase and replayed where the device records.
template <class Stepper, class OneStep>
void drive(Stepper& st, int64_t end, bool record, GenerateStats* stats, const std::function<void(int64_t)>& progress,
           OneStep&& one_step) {
  const Device d = st.device();
  std::map<int64_t, std::unique_ptr<Recording>> recorded;
  DeviceApi& api = device_api(d);
  for (int64_t s = 1; s < end; ++s) {
    if (progress) progress(s);
    if (!record) {
      one_step();
      continue;
    }
    const int64_t phase = st.phase();
    auto it = recorded.find(phase);
    if (it != recorded.end()) {
      it->second->replay();
      st.skip_step();
      if (stats) ++stats->replays;
      continue;
    }
    std::unique_ptr<Recording> r;
    try {
      r = api.record(one_step);  // runs the host side of one step, records its device side
    } catch (const Error& e) {
      // The host side has advanced by a step whose device side never ran: no way to go on.
      fail(fmt::format("step::generate: recording step {} (phase {}) on {} failed: {}; generate with --no-record "
                       "(record = false) to queue every kernel instead",
                       s, phase, d.str(), e.what()));
    }
    if (!r) {  // this device does not record (the CPU): the step has not run yet
      record = false;
      one_step();
      continue;
    }
    r->replay();  // recording queued nothing: run the step now
    if (stats) ++stats->recordings, ++stats->replays;
    recorded.emplace(phase, std::move(r));
  }
}

// `first` must be the stepper's newest logits: contiguous float32 (N, C) on its device.
template <class Stepper>
void check_first(const Stepper& st, const Tensor& first, int64_t steps, double temperature, const char* what) {
  const Device d = st.device();
  if (!(first.defined() && first.dim() == 2 && first.dtype() == DType::F32 && first.is_contiguous() &&
        first.device() == d && first.size(0) == st.batch()))
    fail(fmt::format("{}: expected the first logits as a contiguous float32 (N = {}, C) on {}, got {}", what,
                     st.batch(), d.str(), first.defined() ? first.describe() : std::string("undefined")));
  check(steps >= 1, "{}: steps must be >= 1, got {}", what, steps);
  check(temperature >= 0, "{}: temperature must be >= 0, got {}", what, temperature);
}

// Draws from `first`, then steps − 1 times: step(), then a draw from the stepper's output; each
// draw(logits, last) queues the draw kernel, which also ticks the counter (`last`: the final draw,
// which no step reads: it must not go where a step would find it). The steps before the last
// are recorded per phase and replayed; the last step and draw are queued. Returns `history` on
// the host.
template <class Stepper, class Draw, class Step>
Tensor draw_loop(Stepper& st, const Tensor& first, int64_t steps, bool record, GenerateStats* stats,
                 const std::function<void(int64_t)>& progress, const Tensor& history, Draw&& draw, Step&& step) {
  draw(first.data<float>(), steps == 1);
  drive(st, steps - 1, record, stats, progress, [&] {  // steps 1 … steps − 2
    step();
    draw(st.output().template data<float>(), false);
  });
  if (steps >= 2) {
    if (progress) progress(steps - 1);
    step();
    draw(st.output().template data<float>(), true);
  }
  Tensor drawn = history.to(Device::cpu());
  if (progress) progress(steps);
  return drawn;
}

}  // namespace detail

// `first` (N, C) f32, contiguous, on the stepper's device: the logits the first symbol is drawn
// from (the newest column of the save output). Returns the `steps` drawn symbols (steps, N) i64
// on the host; the stepper has then taken steps − 1 steps (the last symbol is drawn, not fed).
// temperature 0: greedy. `record`: use recordings where the device supports them. `progress`
// (may be empty) is called with the number of steps queued so far (on a GPU the device runs a
// little behind the host: the launch queue is bounded).
template <class Stepper>
Tensor generate(Stepper& st, const Tensor& first, int64_t steps, double temperature, Generator& g, bool record = true,
                GenerateStats* stats = nullptr, const std::function<void(int64_t)>& progress = {}) {
  detail::check_first(st, first, steps, temperature, "step::generate");
  // The drawn class is the next step's input index: the logits must not have more classes.
  check(first.size(1) <= st.input_classes(),
        "step::generate: {} logits per sequence, but the stepper takes indices in "
        "[0, {})",
        first.size(1), st.input_classes());
  const Device d = st.device();
  const int64_t N = first.size(0), C = first.size(1);
  const StepKernels& k = backend(d, "step::generate").step;
  device_api(d).make_current();  // the step kernels run on the current GPU
  Tensor history = Tensor::zeros({steps, N}, DType::I64, d);
  Tensor count = Tensor::zeros({1}, DType::I64, d);  // steps drawn so far
  // (Greedy draws no random numbers, and reserves none, as the host loop did.)
  const uint64_t seed = g.state().seed, block = temperature > 0 ? g.reserve(uint64_t(steps) * uint64_t(N)) : 0;
  // The draw pushes each symbol into the stepper's window of input ids (N, ids_rows()), which is
  // where its next step reads them: no kernel of the step's own has to move them there. The last
  // symbol, which no step reads, goes to `spare` instead, so that the stepper is left as after
  // steps − 1 steps (a following step_indices feeds what comes next).
  int64_t* ids = st.ids_buffer();
  const int64_t ids_rows = st.ids_rows();
  Tensor spare = Tensor::zeros({N}, DType::I64, d);
  int64_t* hist = history.data<int64_t>();
  int64_t* cnt = count.data<int64_t>();
  return detail::draw_loop(
      st, first, steps, record, stats, progress, history,
      [&](const float* logits, bool last) {
        if (last)
          k.sample(N, C, logits, C, temperature, seed, block, cnt, spare.data<int64_t>(), 1, hist, /*tick=*/true);
        else
          k.sample(N, C, logits, C, temperature, seed, block, cnt, ids, ids_rows, hist, /*tick=*/true);
      },
      [&] { st.step_ids(); });
}

// The music models' loop: every key of a frame an independent Bernoulli draw, on with probability
// σ(logit / T) (T = 0: logit > 0), the drawn frame fed back as the next input. Step s, sequence n,
// key c uses Philox block first + (s·N + n)·C + c: the order in which the host loop drew them with
// next_u64(). The stepper gives frame_buffer() (N, C) f32 on its device, step_frame() (one step
// from it), output(), phase() and skip_step(). Returns the frames (steps, N, C) f32 on the host.
template <class Stepper>
Tensor generate_frames(Stepper& st, const Tensor& first, int64_t steps, double temperature, Generator& g,
                       bool record = true, GenerateStats* stats = nullptr,
                       const std::function<void(int64_t)>& progress = {}) {
  detail::check_first(st, first, steps, temperature, "step::generate_frames");
  const Device d = st.device();
  const int64_t N = first.size(0), C = first.size(1);
  check(C == st.frame_width(), "step::generate_frames: {} logits per sequence, but a frame has {} keys", C,
        st.frame_width());
  const StepKernels& k = backend(d, "step::generate_frames").step;
  device_api(d).make_current();
  Tensor history = Tensor::zeros({steps, N, C}, DType::F32, d);
  Tensor count = Tensor::zeros({1}, DType::I64, d);
  const uint64_t seed = g.state().seed,
                 block = temperature > 0 ? g.reserve(uint64_t(steps) * uint64_t(N) * uint64_t(C)) : 0;
  float* frame = st.frame_buffer();
  float* hist = history.data<float>();
  int64_t* cnt = count.data<int64_t>();
  return detail::draw_loop(
      st, first, steps, record, stats, progress, history,
      [&](const float* logits, bool) {  // (the last frame may land in the frame buffer: a step overwrites it)
        k.bernoulli(N, C, logits, C, temperature, seed, block, cnt, frame, hist, /*tick=*/true);
      },
      [&] { st.step_frame(); });
}

}  // namespace seqnet::step
