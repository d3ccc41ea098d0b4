// tests/test_planning.cpp — size planners and receptive fields (models/planning.h).
//
//  * every case of refs/size_planning.json (official check_padding of both variants);
//  * the worked examples of MODELS.md §4 (char/word PTB, copy memory, raw audio, generation,
//    the reference model configs) including the layer-by-layer length traces;
//  * the closed forms of §4.1 for a sweep of (K, levels, T); the planner's shortcut in the
//    bottleneck search against a naive literal search; forward length simulations that check
//    every plan really yields its O (odd strided inputs, shortcuts long enough);
//  * receptive fields of §3 / §5 / §6;
//  * argument validation and overflow: seqnet::Error naming the function, never a hang.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/paths.h"
#include "models/planning.h"

using seqnet::BasicPlan;
using seqnet::Error;
using seqnet::ResidualPlan;
using testing::AllOf;
using testing::ElementsAre;
using testing::ElementsAreArray;
using testing::HasSubstr;

namespace {

using I64 = std::vector<int64_t>;

int64_t p2(int64_t e) { return int64_t{1} << e; }

// ---- independent helpers -----------------------------------------------------------------------

// The official check_padding loop, literally (b = 2, 3, … one at a time, no shortcut).
BasicPlan naive_basic(int64_t K, int64_t levels, int64_t T, bool padded) {
  const int64_t n = levels - 1, P = padded ? K - 1 : 0;
  for (int64_t b = 2; b < 1'000'000; ++b) {
    int64_t c = b;
    bool ok = true;
    for (int64_t i = 0; i < n && ok; ++i) {
      c = 2 * c - K + P;
      if (c < 2) ok = false;
      c = c - K + 1 + P;
      if (c < p2(i + 1)) ok = false;
    }
    if (!ok || c < T) continue;
    const int64_t O = c;
    c = b + K - 1 - P;
    for (int64_t i = 0; i < n && ok; ++i) {
      c = c * 2 - 2 + K - P;
      if (c % 2 == 0) ok = false;
      c = c + K - 1 - P;
    }
    if (ok) return {c, O, b};
  }
  ADD_FAILURE() << "naive_basic found nothing";
  return {};
}

// Forward length trace of the basic Seq-U-Net (§7 / §2): input, then after every conv.
// Checks the structural requirements on the way (odd strided inputs, shortcuts long enough).
I64 basic_forward_trace(int64_t K, int64_t levels, int64_t I, bool padded) {
  const int64_t n = levels - 1, P = padded ? K - 1 : 0;
  I64 trace{I}, shortcuts;
  int64_t L = I;
  for (int64_t i = 0; i < n; ++i) {
    L = L + P - K + 1;  // conv1 (front-padded by P)
    trace.push_back(L);
    shortcuts.push_back(L);
    EXPECT_EQ((L + P) % 2, 1) << "strided conv input must be odd, level " << i;
    L = (L + P - K) / 2 + 1;  // strided conv
    trace.push_back(L);
  }
  L = L + P - K + 1;  // bottleneck
  trace.push_back(L);
  for (int64_t i = n - 1; i >= 0; --i) {
    L = 2 * L - K + P;  // transposed conv + crop (K−1−P front, K−1 back)
    trace.push_back(L);
    EXPECT_GE(shortcuts[static_cast<size_t>(i)], L) << "shortcut too short, up block " << i;
    L = L + P - K + 1;  // conv2
    trace.push_back(L);
  }
  return trace;
}

// Forward length trace of the residual Seq-U-Net (§8): input, input conv, then every layer.
I64 residual_forward_trace(int64_t K, int64_t levels, int64_t depth, int64_t I, const I64& pad_front) {
  const int64_t n = levels - 1;
  I64 trace{I}, shortcuts;
  int64_t L = I - K + 1;  // input conv
  trace.push_back(L);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < depth; ++j) trace.push_back(L = L - K + 1);
    shortcuts.push_back(L);
    EXPECT_EQ(L % 2, 1) << "decimating layer input must be odd, level " << i;
    trace.push_back(L = (L - K) / 2 + 1);
  }
  for (int64_t j = 0; j < depth; ++j) trace.push_back(L = L - K + 1);
  for (int64_t i = n - 1; i >= 0; --i) {
    const int64_t u = 2 * L - K + pad_front[static_cast<size_t>(i)];
    EXPECT_GE(2 * L - 1, u) << "duplicated identity too short, up block " << i;
    EXPECT_GE(shortcuts[static_cast<size_t>(i)], u) << "shortcut too short, up block " << i;
    trace.push_back(L = u);
    for (int64_t j = 0; j < depth; ++j) trace.push_back(L = L - K + 1);
  }
  for (int64_t v : trace) EXPECT_GE(v, 1);
  return trace;
}

// ---- size_planning.json -------------------------------------------------------------------------

TEST(PlanningRefs, SizePlanningJsonEveryCase) {
  const std::string path = seqnet::refs_dir() + "/size_planning.json";
  if (!seqnet::path_exists(path)) GTEST_SKIP() << "reference data not found at " << path << " (set SEQNET_REFS)";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_TRUE(j.contains("basic_valid") && j.contains("basic_padded") && j.contains("residual"));

  int64_t checked = 0;
  for (const char* mode : {"basic_valid", "basic_padded"}) {
    const bool padded = std::string(mode) == "basic_padded";
    ASSERT_EQ(j[mode].size(), 120u) << mode;
    for (const auto& e : j[mode]) {
      const int64_t k = e.at("k"), levels = e.at("levels"), target = e.at("target");
      SCOPED_TRACE(testing::Message() << mode << " k=" << k << " levels=" << levels << " target=" << target);
      const BasicPlan p = seqnet::plan_basic_sequnet(k, levels, target, padded);
      EXPECT_EQ(p.input_size, e.at("input_size").get<int64_t>());
      EXPECT_EQ(p.output_size, e.at("output_size").get<int64_t>());
      ++checked;
    }
  }
  ASSERT_EQ(j["residual"].size(), 210u);
  for (const auto& e : j["residual"]) {
    const int64_t k = e.at("k"), levels = e.at("levels"), depth = e.at("depth"), target = e.at("target");
    SCOPED_TRACE(testing::Message() << "residual k=" << k << " levels=" << levels << " depth=" << depth
                                    << " target=" << target);
    const ResidualPlan p = seqnet::plan_residual_sequnet(k, levels, depth, target);
    EXPECT_EQ(p.input_size, e.at("input_size").get<int64_t>());
    EXPECT_EQ(p.output_size, e.at("output_size").get<int64_t>());
    EXPECT_EQ(p.pad_front, e.at("pad_front_per_up_block").get<I64>());
    ++checked;
  }
  EXPECT_EQ(checked, 450) << "size_planning.json cases checked";
  RecordProperty("cases_checked", static_cast<int>(checked));
}

// ---- basic variant -----------------------------------------------------------------------------

struct BasicExample {
  int64_t K, levels, T;
  bool padded;
  int64_t I, O;
};

TEST(PlanningBasic, WorkedExamples) {
  const BasicExample examples[] = {
      {3, 4, 320, false, 397, 325},   // char-PTB (§4.1, §10.3)
      {3, 4, 45, false, 117, 45},     // word-PTB (§10.4)
      {3, 2, 10, false, 23, 11},
      {5, 4, 100, false, 249, 105},
      {7, 8, 10, false, 3957, 141},   // copy memory (§10.1)
      {5, 3, 1, false, 69, 5},
      {3, 3, 10, false, 45, 13},      // refs sequnet_basic_valid
      {3, 3, 8, false, 41, 9},        // §7 state_dict example
      {3, 3, 7, false, 41, 9},        // refs task_char_sequnet (validseqlen 7)
      {3, 2, 57, true, 57, 57},
      {5, 4, 1, true, 9, 9},
      {5, 4, 23, true, 25, 25},       // refs sequnet_basic_padded
      {3, 2, 25, true, 25, 25},       // refs task_poly_sequnet
  };
  for (const auto& e : examples) {
    SCOPED_TRACE(testing::Message() << "K=" << e.K << " levels=" << e.levels << " T=" << e.T
                                    << (e.padded ? " padded" : " valid"));
    const BasicPlan p = seqnet::plan_basic_sequnet(e.K, e.levels, e.T, e.padded);
    EXPECT_EQ(p.input_size, e.I);
    EXPECT_EQ(p.output_size, e.O);
  }
  EXPECT_EQ(seqnet::plan_basic_sequnet(3, 4, 320, false).bottleneck, 45);
}

TEST(PlanningBasic, CharPtbLengthTrace) {
  // §4.1: 397 → conv1 395 → strided 197 → 195 → 97 → 95 → 47 → bottleneck 45 → transposed 87
  // → conv 85 → 167 → 165 → 327 → 325.
  const BasicPlan p = seqnet::plan_basic_sequnet(3, 4, 320, false);
  EXPECT_THAT(basic_forward_trace(3, 4, p.input_size, false),
              ElementsAre(397, 395, 197, 195, 97, 95, 47, 45, 87, 85, 167, 165, 327, 325));
}

TEST(PlanningBasic, CopyMemoryNeedsBottleneck14) {
  // K 7, 8 levels, T 10: b = 13 gives O = 13 ≥ 10 but c_j = 13 < 2^j for j = 4, so b = 14.
  const BasicPlan p = seqnet::plan_basic_sequnet(7, 8, 10, false);
  EXPECT_EQ(p.bottleneck, 14);
  EXPECT_EQ(p.input_size, 3957);
  EXPECT_EQ(p.output_size, 141);
}

// Smallest b ≥ 2 satisfying the closed-form conditions of §4.1 (independent of the planner).
TEST(PlanningBasic, ClosedFormsSweep) {
  int64_t cases = 0;
  for (int64_t K : {1, 3, 5, 7, 9, 11}) {
    for (int64_t levels = 2; levels <= 10; ++levels) {
      const int64_t n = levels - 1, D = 2 * K - 1, N = p2(n);
      for (int64_t T : {1, 2, 3, 5, 8, 13, 31, 64, 100, 257, 320, 1000, 4097, 100000}) {
        SCOPED_TRACE(testing::Message() << "K=" << K << " levels=" << levels << " T=" << T);
        // valid mode: c_j = D + 2^j (b − D); need 2c_{j−1} − K ≥ 2 and c_j ≥ 2^j (j = 1..n), c_n ≥ T.
        int64_t b = 2;
        for (;; ++b) {
          bool ok = true;
          for (int64_t jj = 1; jj <= n && ok; ++jj) {
            const int64_t prev = D + p2(jj - 1) * (b - D), cur = D + p2(jj) * (b - D);
            ok = 2 * prev - K >= 2 && cur >= p2(jj);
          }
          if (ok && D + N * (b - D) >= T) break;
        }
        const BasicPlan v = seqnet::plan_basic_sequnet(K, levels, T, false);
        EXPECT_EQ(v.bottleneck, b);
        EXPECT_EQ(v.output_size, N * (b - (2 * K - 1)) + (2 * K - 1));
        EXPECT_EQ(v.input_size, N * (b + 3 * K - 4) - (2 * K - 3));
        EXPECT_EQ(v.input_size - v.output_size, (K - 1) * (5 * N - 4));
        EXPECT_GE(v.output_size, T);
        // padded mode: I = O = 2^n (b − 1) + 1, smallest b ≥ 2 with O ≥ T.
        int64_t bp = 2;
        while (N * (bp - 1) + 1 < T) ++bp;
        const BasicPlan q = seqnet::plan_basic_sequnet(K, levels, T, true);
        EXPECT_EQ(q.bottleneck, bp);
        EXPECT_EQ(q.input_size, N * (bp - 1) + 1);
        EXPECT_EQ(q.output_size, N * (bp - 1) + 1);
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 6 * 9 * 14);
}

// The planner skips runs of too-short candidates; it must pick exactly what the literal loop picks,
// and the plan must really produce O outputs from I inputs.
TEST(PlanningBasic, MatchesLiteralSearchAndForwardLengths) {
  for (bool padded : {false, true}) {
    for (int64_t K : {1, 3, 5, 7, 9}) {
      for (int64_t levels = 2; levels <= 7; ++levels) {
        for (int64_t T = 1; T <= 300; T += (T < 40 ? 1 : 37)) {
          SCOPED_TRACE(testing::Message() << "K=" << K << " levels=" << levels << " T=" << T
                                          << (padded ? " padded" : " valid"));
          const BasicPlan p = seqnet::plan_basic_sequnet(K, levels, T, padded);
          const BasicPlan r = naive_basic(K, levels, T, padded);
          EXPECT_EQ(p.input_size, r.input_size);
          EXPECT_EQ(p.output_size, r.output_size);
          EXPECT_EQ(p.bottleneck, r.bottleneck);
          const I64 trace = basic_forward_trace(K, levels, p.input_size, padded);
          EXPECT_EQ(trace.back(), p.output_size);
          EXPECT_EQ(trace[trace.size() / 2], p.bottleneck);  // input, 2n down convs, bottleneck, ...
        }
      }
    }
  }
}

TEST(PlanningBasic, LargeTargetsAreFast) {
  // The search is O(K) candidates whatever T: T ≈ 10^15 must come back at once.
  const int64_t T = 1'000'000'000'000'000;
  const BasicPlan p = seqnet::plan_basic_sequnet(3, 4, T, false);
  EXPECT_GE(p.output_size, T);
  EXPECT_LT(p.output_size - T, 8);
  EXPECT_EQ(p.input_size - p.output_size, 2 * (5 * 8 - 4));
  const BasicPlan q = seqnet::plan_basic_sequnet(5, 11, T, true);
  EXPECT_EQ(q.input_size, q.output_size);
  EXPECT_EQ((q.output_size - 1) % 1024, 0);
}

// ---- residual variant --------------------------------------------------------------------------

struct ResidualExample {
  int64_t K, levels, depth, T, I, O;
  I64 pads;
};

TEST(PlanningResidual, WorkedExamples) {
  const ResidualExample examples[] = {
      {3, 4, 1, 320, 391, 320, {1, 1, 0}},
      {3, 4, 1, 45, 119, 48, {1, 1, 0}},
      {5, 11, 2, 5000, 36857, 5120, {1, 1, 0, 0, 1, 1, 1, 1, 1, 1}},  // raw audio (§10.5)
      {5, 11, 2, 1, 32761, 1024, {1, 1, 0, 0, 1, 1, 1, 1, 1, 1}},     // generation
      {7, 8, 1, 10, 3835, 128, {1, 1, 0, 0, 1, 1, 1}},                // copy memory
      {3, 3, 2, 8, 61, 8, {1, 0}},                                    // refs sequnet_res_valid
      {5, 4, 1, 21, 165, 24, {1, 1, 1}},                              // refs sequnet_res_padded
      {3, 4, 2, 1, 125, 8, {1, 0, 0}},                                // refs sequnet_res_gen
  };
  for (const auto& e : examples) {
    SCOPED_TRACE(testing::Message() << "K=" << e.K << " levels=" << e.levels << " depth=" << e.depth
                                    << " T=" << e.T);
    const ResidualPlan p = seqnet::plan_residual_sequnet(e.K, e.levels, e.depth, e.T);
    EXPECT_EQ(p.input_size, e.I);
    EXPECT_EQ(p.output_size, e.O);
    EXPECT_THAT(p.pad_front, ElementsAreArray(e.pads));
  }
}

TEST(PlanningResidual, WorkedExampleLengthTrace) {
  // §4.2: 391 → input conv 389 → convs 387 (shortcut) → 193 → 191 → 95 → 93 → 46 → bottleneck 44
  // → transposed 85 → convs 83 → 164 → 162 → 322 → 320.
  const ResidualPlan p = seqnet::plan_residual_sequnet(3, 4, 1, 320);
  EXPECT_THAT(residual_forward_trace(3, 4, 1, p.input_size, p.pad_front),
              ElementsAre(391, 389, 387, 193, 191, 95, 93, 46, 44, 85, 83, 164, 162, 322, 320));
}

TEST(PlanningResidual, SweepInvariants) {
  for (int64_t K : {3, 5, 7, 9}) {
    for (int64_t levels = 1; levels <= 9; ++levels) {
      for (int64_t depth : {1, 2, 3}) {
        const int64_t C = p2(levels - 1);
        const ResidualPlan first = seqnet::plan_residual_sequnet(K, levels, depth, 1);
        for (int64_t T : {1, 2, 3, 7, 8, 9, 45, 320, 1000, 5000, 12345}) {
          SCOPED_TRACE(testing::Message() << "K=" << K << " levels=" << levels << " depth=" << depth
                                          << " T=" << T);
          const ResidualPlan p = seqnet::plan_residual_sequnet(K, levels, depth, T);
          EXPECT_EQ(p.output_size, C * ((T + C - 1) / C));  // rounded up to a multiple of cycles
          EXPECT_EQ(p.pad_front.size(), static_cast<size_t>(levels - 1));
          for (int64_t v : p.pad_front) EXPECT_TRUE(v == 0 || v == 1);
          // I − O and the pads do not depend on the target (O is always a multiple of cycles).
          EXPECT_EQ(p.input_size - p.output_size, first.input_size - first.output_size);
          EXPECT_EQ(p.pad_front, first.pad_front);
          EXPECT_EQ(residual_forward_trace(K, levels, depth, p.input_size, p.pad_front).back(), p.output_size);
        }
      }
    }
  }
}

// ---- receptive fields --------------------------------------------------------------------------

TEST(PlanningReceptiveField, TcnAndWaveNet) {
  EXPECT_EQ(seqnet::tcn_receptive_field(3, 3), 29);  // refs tcn_a
  EXPECT_EQ(seqnet::tcn_receptive_field(2, 4), 31);  // refs tcn_b ("RF 31")
  EXPECT_EQ(seqnet::tcn_receptive_field(7, 8), 1 + 2 * 6 * 255);
  EXPECT_EQ(seqnet::tcn_receptive_field(1, 5), 1);
  EXPECT_EQ(seqnet::wavenet_receptive_field(2, 13, 4), 32765);  // raw audio (§6, §10.5)
  EXPECT_EQ(seqnet::wavenet_receptive_field(2, 3, 2), 15);      // refs wavenet_a
  EXPECT_EQ(seqnet::wavenet_receptive_field(3, 2, 2), 13);      // refs wavenet_b
  EXPECT_EQ(seqnet::wavenet_receptive_field(2, 10, 5), 1 + 5 * 1023);
  // WaveNet input_size = RF + output_length − 1: 37 764 for 5 000 outputs.
  EXPECT_EQ(seqnet::wavenet_receptive_field(2, 13, 4) + 5000 - 1, 37764);
}

TEST(PlanningReceptiveField, SequnetSpanIsIMinusOPlusOne) {
  // basic: (K−1)(5·2^n − 4) + 1; char-PTB config (K 3, 4 levels): 397 − 325 + 1 = 73.
  EXPECT_EQ(seqnet::basic_sequnet_receptive_field(3, 4), 73);
  // residual: §3 "72 for the char config" = K 3, 4 levels, depth 1 (the §4.2 example 391/320),
  // "31 738 for the audio config" = K 5, 11 levels, depth 2 (36 857/5 120 and 32 761/1 024).
  EXPECT_EQ(seqnet::residual_sequnet_receptive_field(3, 4, 1), 72);
  EXPECT_EQ(seqnet::residual_sequnet_receptive_field(5, 11, 2), 31738);
  EXPECT_EQ(36857 - 5120 + 1, 31738);
  EXPECT_EQ(32761 - 1024 + 1, 31738);
  for (int64_t K : {1, 3, 5, 7}) {
    for (int64_t levels = 2; levels <= 10; ++levels) {
      const int64_t rf = seqnet::basic_sequnet_receptive_field(K, levels);
      EXPECT_EQ(rf, (K - 1) * (5 * p2(levels - 1) - 4) + 1) << "K=" << K << " levels=" << levels;
      for (int64_t T : {1, 10, 320, 5000}) {
        const BasicPlan p = seqnet::plan_basic_sequnet(K, levels, T, false);
        EXPECT_EQ(p.input_size - p.output_size + 1, rf);
      }
      for (int64_t depth : {1, 2}) {
        if (K == 1) continue;  // the residual variant needs K >= 3
        const int64_t rr = seqnet::residual_sequnet_receptive_field(K, levels, depth);
        for (int64_t T : {1, 10, 320, 5000}) {
          const ResidualPlan p = seqnet::plan_residual_sequnet(K, levels, depth, T);
          EXPECT_EQ(p.input_size - p.output_size + 1, rr);
        }
      }
    }
  }
}

// ---- errors ------------------------------------------------------------------------------------

template <typename F>
void expect_error(F&& f, const std::string& fn, const std::string& value) {
  EXPECT_THAT(f, testing::ThrowsMessage<Error>(AllOf(HasSubstr(fn), HasSubstr(value))));
}

TEST(PlanningErrors, BadArgumentsNameFunctionAndValue) {
  const std::string basic = "plan_basic_sequnet", res = "plan_residual_sequnet";
  expect_error([] { seqnet::plan_basic_sequnet(4, 4, 10, false); }, basic, "got 4");
  expect_error([] { seqnet::plan_basic_sequnet(0, 4, 10, true); }, basic, "got 0");
  expect_error([] { seqnet::plan_basic_sequnet(-3, 4, 10, false); }, basic, "got -3");
  expect_error([] { seqnet::plan_basic_sequnet(3, 1, 10, false); }, basic, "got 1");
  expect_error([] { seqnet::plan_basic_sequnet(3, 0, 10, false); }, basic, "got 0");
  expect_error([] { seqnet::plan_basic_sequnet(3, 4, 0, false); }, basic, "got 0");
  expect_error([] { seqnet::plan_basic_sequnet(3, 4, -5, true); }, basic, "got -5");
  expect_error([] { seqnet::plan_residual_sequnet(2, 4, 1, 10); }, res, "got 2");
  expect_error([] { seqnet::plan_residual_sequnet(1, 4, 1, 10); }, res, "got 1");  // needs K >= 3
  expect_error([] { seqnet::plan_residual_sequnet(3, 0, 1, 10); }, res, "got 0");
  expect_error([] { seqnet::plan_residual_sequnet(3, 4, 0, 10); }, res, "got 0");
  expect_error([] { seqnet::plan_residual_sequnet(3, 4, 1, 0); }, res, "got 0");
  expect_error([] { seqnet::tcn_receptive_field(0, 3); }, "tcn_receptive_field", "got 0");
  expect_error([] { seqnet::tcn_receptive_field(3, 0); }, "tcn_receptive_field", "got 0");
  expect_error([] { seqnet::wavenet_receptive_field(2, 0, 4); }, "wavenet_receptive_field", "got 0");
  expect_error([] { seqnet::wavenet_receptive_field(2, 13, 0); }, "wavenet_receptive_field", "got 0");
  expect_error([] { seqnet::basic_sequnet_receptive_field(6, 4); }, "basic_sequnet_receptive_field", "got 6");
  expect_error([] { seqnet::residual_sequnet_receptive_field(3, 4, -1); }, "residual_sequnet_receptive_field",
               "got -1");
  // Messages say what is expected.
  expect_error([] { seqnet::plan_basic_sequnet(4, 4, 10, false); }, "odd", "kernel");
  expect_error([] { seqnet::plan_basic_sequnet(3, 1, 10, false); }, "levels must be in [2,", "got 1");
}

TEST(PlanningErrors, HugeInputsThrowInsteadOfHangingOrOverflowing) {
  constexpr int64_t big = std::numeric_limits<int64_t>::max();
  expect_error([] { seqnet::plan_residual_sequnet(3, 4, 1, big); }, "plan_residual_sequnet", "overflow");
  expect_error([] { seqnet::plan_basic_sequnet(3, 4, big, false); }, "plan_basic_sequnet", "overflow");
  expect_error([] { seqnet::plan_basic_sequnet(3, 62, 1, false); }, "plan_basic_sequnet", "overflow");
  expect_error([] { seqnet::plan_basic_sequnet(3, 63, 1, false); }, "plan_basic_sequnet", "got 63");
  expect_error([] { seqnet::plan_basic_sequnet(big, 4, 1, false); }, "plan_basic_sequnet", "too large");
  expect_error([] { seqnet::plan_residual_sequnet(3, 4, big, 1); }, "plan_residual_sequnet", "depth");
  expect_error([] { seqnet::tcn_receptive_field(big, 8); }, "tcn_receptive_field", "overflow");
  expect_error([] { seqnet::tcn_receptive_field(3, 100); }, "tcn_receptive_field", "got 100");
  expect_error([] { seqnet::wavenet_receptive_field(2, 13, big); }, "wavenet_receptive_field", "overflow");
}

}  // namespace
