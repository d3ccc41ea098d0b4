// models/planning.cpp — see planning.h. Both planners follow MODELS.md §4 (and the official
// check_padding code) step by step; all arithmetic is overflow-checked.
#include "models/planning.h"

#include <string_view>

#include "core/error.h"

namespace seqnet {

namespace {

// Largest kernel / depth / level count accepted. Far beyond any real model; they only keep the
// (literal, linear) loops short and 2^levels representable.
constexpr int64_t kMaxKernel = (int64_t{1} << 20) - 1;
constexpr int64_t kMaxDepth = int64_t{1} << 20;
constexpr int64_t kMaxLevels = 62;

// Overflow-checked int64 arithmetic; `fn` names the public function for the message.
int64_t add(std::string_view fn, int64_t a, int64_t b) {
  int64_t r;
  check(!__builtin_add_overflow(a, b, &r), "{}: sizes overflow int64 ({} + {})", fn, a, b);
  return r;
}
int64_t sub(std::string_view fn, int64_t a, int64_t b) {
  int64_t r;
  check(!__builtin_sub_overflow(a, b, &r), "{}: sizes overflow int64 ({} - {})", fn, a, b);
  return r;
}
int64_t mul(std::string_view fn, int64_t a, int64_t b) {
  int64_t r;
  check(!__builtin_mul_overflow(a, b, &r), "{}: sizes overflow int64 ({} * {})", fn, a, b);
  return r;
}
int64_t pow2(int64_t e) { return int64_t{1} << e; }  // callers guarantee 0 <= e <= 62

// Seq-U-Nets need an odd kernel. The residual variant needs K >= 3: its transposed layer crops
// K−1−pad_front samples at the front (negative for K = 1, pad_front = 1) and K−2 at the back in
// save/step mode; the official code silently mis-slices there.
void check_seqnet_kernel(std::string_view fn, int64_t kernel, int64_t min_kernel) {
  check(kernel >= min_kernel && kernel % 2 == 1, "{}: kernel must be odd and >= {}, got {}", fn, min_kernel,
        kernel);
  check(kernel <= kMaxKernel, "{}: kernel {} is too large (max {})", fn, kernel, kMaxKernel);
}
void check_levels(std::string_view fn, int64_t levels, int64_t min_levels) {
  check(levels >= min_levels && levels <= kMaxLevels, "{}: levels must be in [{}, {}], got {}", fn,
        min_levels, kMaxLevels, levels);
}
void check_target(std::string_view fn, int64_t target) {
  check(target >= 1, "{}: target output size must be >= 1, got {}", fn, target);
}

// ---- basic variant ---------------------------------------------------------------------------

enum class Verdict { ok, too_short, rejected };

// One candidate bottleneck b (check_padding_for_bottleneck). On `ok` fills plan; on
// `too_short` (every structural check passed but O < T) returns O in plan.output_size.
Verdict basic_candidate(std::string_view fn, int64_t K, int64_t n, int64_t P, int64_t b, int64_t T,
                        BasicPlan& plan) {
  // Upward (output side): transposed conv + crop, then the up block's conv2.
  int64_t c = b;
  for (int64_t i = 0; i < n; ++i) {
    c = add(fn, sub(fn, mul(fn, 2, c), K), P);  // u = 2c − K + P
    if (c < 2) return Verdict::rejected;        // need two samples to interpolate
    c = add(fn, sub(fn, c, K), 1 + P);          // c = u − K + 1 + P
    if (c < pow2(i + 1)) return Verdict::rejected;  // every upsampling path covered
  }
  plan.output_size = c;
  if (c < T) return Verdict::too_short;

  // Downward (input side): bottleneck conv input, then per level strided conv and conv1 inputs.
  c = sub(fn, add(fn, b, K - 1), P);
  for (int64_t i = 0; i < n; ++i) {
    c = sub(fn, add(fn, mul(fn, 2, c), K - 2), P);  // input of the strided conv
    if (c % 2 == 0) return Verdict::rejected;        // must be odd (never fails for odd K)
    c = sub(fn, add(fn, c, K - 1), P);               // input of conv1
  }
  plan.input_size = c;
  plan.bottleneck = b;
  return Verdict::ok;
}

}  // namespace

BasicPlan plan_basic_sequnet(int64_t kernel, int64_t levels, int64_t target_output, bool padded) {
  constexpr std::string_view fn = "plan_basic_sequnet";
  check_seqnet_kernel(fn, kernel, 1);
  check_levels(fn, levels, 2);
  check_target(fn, target_output);
  const int64_t n = levels - 1;
  const int64_t P = padded ? kernel - 1 : 0;

  // Literal search b = 2, 3, … with one exact shortcut: the upward walk is affine in b with
  // slope 2^n (O(b + δ) = O(b) + 2^n δ), so when a candidate fails because O < T, every
  // b' < b + ceil((T − O)/2^n) also has O < T and fails (at the latest at that check); they can
  // be skipped without changing the result. Structural rejections happen only for b below
  // ~2K, so the number of candidates is O(K) whatever the target; the cap is a safety net.
  const int64_t max_candidates = 4 * kernel + 256;
  const int64_t step = pow2(n);
  int64_t b = 2;
  for (int64_t tries = 0; tries < max_candidates; ++tries) {
    BasicPlan plan{};
    switch (basic_candidate(fn, kernel, n, P, b, target_output, plan)) {
      case Verdict::ok:
        return plan;
      case Verdict::too_short: {
        const int64_t missing = target_output - plan.output_size;  // > 0
        b = add(fn, b, missing / step + (missing % step != 0 ? 1 : 0));
        break;
      }
      case Verdict::rejected:
        b = add(fn, b, 1);
        break;
    }
  }
  fail(fmt::format("{}: no valid bottleneck size found after {} candidates (kernel {}, levels {}, target {})",
                   fn, max_candidates, kernel, levels, target_output));
}

// ---- residual variant ------------------------------------------------------------------------

ResidualPlan plan_residual_sequnet(int64_t kernel, int64_t levels, int64_t depth, int64_t target_output) {
  constexpr std::string_view fn = "plan_residual_sequnet";
  check_seqnet_kernel(fn, kernel, 3);
  check_levels(fn, levels, 1);
  check(depth >= 1 && depth <= kMaxDepth, "{}: depth must be in [1, {}], got {}", fn, kMaxDepth, depth);
  check_target(fn, target_output);
  const int64_t K = kernel, n = levels - 1, cycles = pow2(n);

  // O = cycles · ceil(T / cycles): every phase of the decimation grid is weighted equally.
  int64_t O = mul(fn, target_output / cycles + (target_output % cycles != 0 ? 1 : 0), cycles);

  // Retry with O += cycles if a layer would need a non-positive input. With O >= 1 every inverse
  // rule gives >= 1, so the first candidate always succeeds; the cap only bounds the loop.
  constexpr int tries_max = 64;
  for (int tries = 0; tries < tries_max; ++tries, O = add(fn, O, cycles)) {
    ResidualPlan plan{0, O, std::vector<int64_t>(static_cast<size_t>(n), 0)};
    bool ok = true;
    int64_t c = O;
    auto stride1 = [&] {  // one stride-1 gated layer (or a plain conv): in = out + K − 1
      c = add(fn, c, K - 1);
      ok = ok && c > 0;
    };
    // Up blocks, outermost (applied last) first: D convs, then the transposed layer.
    for (int64_t i = 0; i < n && ok; ++i) {
      for (int64_t j = 0; j < depth; ++j) stride1();
      const int64_t q = add(fn, c, K - 1);
      plan.pad_front[static_cast<size_t>(i)] = ((q - 1) % 2 + 2) % 2;
      c = q > 0 ? q / 2 + q % 2 : 0;  // ceil(q / 2)
      ok = ok && c > 0;
    }
    // Bottleneck layers.
    for (int64_t j = 0; j < depth && ok; ++j) stride1();
    // Down blocks, deepest first: the strided layer, then its D convs.
    for (int64_t i = n - 1; i >= 0 && ok; --i) {
      c = add(fn, mul(fn, 2, c), K - 2);  // 2·(out − 1) + 1 + K − 1
      ok = ok && c > 0;
      for (int64_t j = 0; j < depth; ++j) stride1();
    }
    stride1();  // input conv
    if (ok) {
      plan.input_size = c;
      return plan;
    }
  }
  fail(fmt::format("{}: no valid output size found after {} candidates (kernel {}, levels {}, depth {}, target {})",
                   fn, tries_max, kernel, levels, depth, target_output));
}

// ---- receptive fields --------------------------------------------------------------------------

int64_t tcn_receptive_field(int64_t kernel, int64_t levels) {
  constexpr std::string_view fn = "tcn_receptive_field";
  check(kernel >= 1, "{}: kernel must be >= 1, got {}", fn, kernel);
  check(levels >= 1 && levels <= kMaxLevels, "{}: levels must be in [1, {}], got {}", fn, kMaxLevels, levels);
  return add(fn, 1, mul(fn, mul(fn, 2, kernel - 1), pow2(levels) - 1));
}

int64_t wavenet_receptive_field(int64_t kernel, int64_t layers, int64_t blocks) {
  constexpr std::string_view fn = "wavenet_receptive_field";
  check(kernel >= 1, "{}: kernel must be >= 1, got {}", fn, kernel);
  check(layers >= 1 && layers <= kMaxLevels, "{}: layers must be in [1, {}], got {}", fn, kMaxLevels, layers);
  check(blocks >= 1, "{}: blocks must be >= 1, got {}", fn, blocks);
  return add(fn, 1, mul(fn, mul(fn, blocks, kernel - 1), pow2(layers) - 1));
}

int64_t basic_sequnet_receptive_field(int64_t kernel, int64_t levels) {
  constexpr std::string_view fn = "basic_sequnet_receptive_field";
  check_seqnet_kernel(fn, kernel, 1);
  check_levels(fn, levels, 2);
  const BasicPlan p = plan_basic_sequnet(kernel, levels, 1, /*padded=*/false);
  return p.input_size - p.output_size + 1;
}

int64_t residual_sequnet_receptive_field(int64_t kernel, int64_t levels, int64_t depth) {
  constexpr std::string_view fn = "residual_sequnet_receptive_field";
  check_seqnet_kernel(fn, kernel, 3);
  check_levels(fn, levels, 1);
  check(depth >= 1 && depth <= kMaxDepth, "{}: depth must be in [1, {}], got {}", fn, kMaxDepth, depth);
  const ResidualPlan p = plan_residual_sequnet(kernel, levels, depth, 1);
  return p.input_size - p.output_size + 1;
}

}  // namespace seqnet
