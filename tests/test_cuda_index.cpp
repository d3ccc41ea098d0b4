// tests/test_cuda_index.cpp — the index arithmetic of the CUDA kernels, swept on the CPU.
//
// Each CUDA kernel gives a thread one output element; where that element reads from is a
// SEQNET_HOST_DEVICE function in cuda/ops/<family>_index.h. Here every such function is run over
// whole launch grids of awkward geometries and checked against what the CPU backend (the oracle)
// reads, so a GPU run only has to show what a GPU alone can.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "cuda/ops/conv_index.h"
#include "cuda/ops/loss_index.h"
#include "cuda/ops/pool_index.h"
#include "cuda/ops/resample_index.h"
#include "cuda/ops/tensor_table.h"
#include "ops/ops.h"
#include "tests/test_util.h"

namespace seqnet {
namespace {

// Window j of the CPU's pooling: [j·s − p, j·s − p + k) ∩ [0, T).
TEST(CudaIndex, PoolWindowsAndTheirInverse) {
  int geometries = 0;
  for (int64_t T : {1, 2, 5, 8, 13})
    for (int64_t k : {1, 2, 3, 4, 5})
      for (int64_t s : {1, 2, 3, 5})
        for (int64_t p = 0; p <= k / 2; ++p) {
          if (T + 2 * p < k) continue;
          const PoolGeom g{1, T, (T + 2 * p - k) / s + 1, k, s, p};
          std::vector<std::set<int64_t>> readers(static_cast<size_t>(T));
          for (int64_t j = 0; j < g.T_out; ++j) {
            int64_t lo = 0, hi = 0;
            cuda::pool_window(j, g, lo, hi);
            ASSERT_EQ(lo, std::max<int64_t>(j * s - p, 0)) << "j " << j;
            ASSERT_EQ(hi, std::min(j * s - p + k, T)) << "j " << j;
            ASSERT_LT(lo, hi) << "empty window j " << j;
            for (int64_t i = lo; i < hi; ++i) readers[size_t(i)].insert(j);
          }
          for (int64_t i = 0; i < T; ++i) {
            int64_t j_lo = 0, j_hi = 0;
            cuda::pool_windows_covering(i, g, j_lo, j_hi);
            std::set<int64_t> got;
            for (int64_t j = j_lo; j < j_hi; ++j) got.insert(j);
            ASSERT_EQ(got, readers[size_t(i)]) << "T " << T << " k " << k << " s " << s << " p " << p << " i " << i;
          }
          ++geometries;
        }
  EXPECT_GE(geometries, 180);  // the sweep really ran
}

// linear_source must reproduce the CPU op bit for bit: upsample_linear of a one-hot input e_i gives
// y[j] = w0·[i0 = i] + w1·[i1 = i]; and linear_readers(i) must contain every j that reads i.
template <typename T>
void check_linear(int64_t L, int64_t f) {
  const DType dt = dtype_of<T>();
  for (int64_t i = 0; i < L; ++i) {
    Tensor e = Tensor::zeros({1, 1, L}, dt);
    e.narrow(2, i, 1).fill_(1.0);
    const std::vector<T> y = upsample_linear(Variable(e), f).data().template to_vector<T>();
    int64_t j_lo = 0, j_hi = 0;
    cuda::linear_readers(i, L, f, j_lo, j_hi);
    for (int64_t j = 0; j < L * f; ++j) {
      int64_t i0 = 0, i1 = 0;
      T w0 = 0, w1 = 0;
      cuda::linear_source<T>(j, L, f, i0, i1, w0, w1);
      const T mine = w0 * T(i0 == i) + w1 * T(i1 == i);
      ASSERT_EQ(mine, y[size_t(j)]) << "L " << L << " f " << f << " i " << i << " j " << j;
      if (i0 == i || i1 == i) {
        ASSERT_TRUE(j >= j_lo && j < j_hi) << "reader j " << j << " of step " << i;
      }
    }
  }
}

TEST(CudaIndex, LinearUpsamplingSourcesMatchTheCpu) {
  for (int64_t L : {1, 2, 3, 7})
    for (int64_t f : {1, 2, 3, 4, 7}) {
      check_linear<float>(L, f);
      check_linear<double>(L, f);
    }
}

TEST(CudaIndex, ConvWeightLayoutsAndPhases) {
  const int64_t O = 3, C = 4, K = 5;
  const Tensor W = Tensor::arange(O * C * K, DType::F64).view({O, C, K});
  const std::vector<double> w = W.to_vector<double>();
  const std::vector<double> wk = W.permute({2, 0, 1}).contiguous().to_vector<double>();  // (K, O, C)
  for (int64_t i = 0; i < O * C * K; ++i) {
    ASSERT_EQ(w[size_t(cuda::taps_major_source(i, O, C, K))], wk[size_t(i)]) << i;
    ASSERT_EQ(wk[size_t(cuda::taps_last_source(i, O, C, K))], w[size_t(i)]) << i;
  }
  for (int64_t s : {1, 2, 3})
    for (int64_t t = 0; t < 20; ++t) {
      const cuda::PhaseCoord pc = cuda::phase_coord(t, s);
      ASSERT_EQ(cuda::phase_column(s, pc.p, pc.j), t);
      ASSERT_TRUE(pc.p >= 0 && pc.p < s);
    }
  // used_phase_mask against the geometry's own taps (which phases a valid tap reads).
  for (int64_t s : {1, 2, 3, 4})
    for (int64_t k : {1, 2, 3, 5})
      for (int64_t d : {1, 2})
        for (int64_t pf : {0, 1, 4}) {
          ConvGeom g;
          g.N = 1, g.C_in = 1, g.C_out = 1, g.T = 9, g.K = k, g.s = s, g.d = d, g.pf = pf;
          g.T_out = conv1d_out_len(g.T, k, s, d, pf, 0);
          const cuda::PhaseMask mask = cuda::used_phase_mask(g);
          for (int64_t p = 0; p < s; ++p) {
            bool used = false;
            for (int64_t m = 0; m < k; ++m)
              if (auto [lo, hi] = g.valid(m); lo < hi && g.phase(m) == p) used = true;
            ASSERT_EQ(mask.has(p), used) << "s " << s << " k " << k << " d " << d << " pf " << pf << " p " << p;
          }
        }
}

// The covering taps that replace a zero fill (cuda/ops/conv.cu): over causal, centred, strided,
// dilated and too-short geometries, the forward's tap writes every Y column and the stride-1 input
// gradient's tap every dX column — and where none is returned, no tap does (brute force over the
// columns each tap writes).
TEST(CudaIndex, ConvCoveringTapsWriteTheWholeOutput) {
  int found_forward = 0, found_input = 0;
  for (int64_t T : {1, 2, 5, 9})
    for (int64_t s : {1, 2, 3})
      for (int64_t k : {1, 2, 3, 5})
        for (int64_t d : {1, 2, 4})
          for (int64_t pf : {int64_t(0), int64_t(1), d * (k - 1)})
            for (int64_t pb : {0, 1}) {
              ConvGeom g;
              g.N = 2, g.C_in = 1, g.C_out = 1, g.T = T, g.K = k, g.s = s, g.d = d, g.pf = pf;
              g.T_out = conv1d_out_len(T, k, s, d, pf, pb);
              if (g.T_out <= 0) continue;
              const std::string where = fmt::format("T {} s {} k {} d {} pf {} pb {}", T, s, k, d, pf, pb);
              const auto writes_all_of_y = [&](int64_t m) { return g.valid(m) == std::make_pair(int64_t(0), g.T_out); };
              const auto writes_all_of_dx = [&](int64_t m) {
                if (s != 1) return false;
                std::set<int64_t> cols;
                const auto [lo, hi] = g.valid(m);
                for (int64_t t = lo; t < hi; ++t) cols.insert(s * t + g.off(m));
                return int64_t(cols.size()) == T && *cols.begin() == 0 && *cols.rbegin() == T - 1;
              };
              const int64_t f = cuda::forward_covering_tap(g), i = cuda::input_covering_tap(g);
              bool any_f = false, any_i = false;
              for (int64_t m = 0; m < k; ++m) any_f |= writes_all_of_y(m), any_i |= writes_all_of_dx(m);
              if (f >= 0) {
                ASSERT_LT(f, k) << where;
                EXPECT_TRUE(writes_all_of_y(f)) << where;
                ++found_forward;
              } else {
                EXPECT_FALSE(any_f) << where;
              }
              if (i >= 0) {
                ASSERT_LT(i, k) << where;
                EXPECT_TRUE(writes_all_of_dx(i)) << where;
                ++found_input;
              } else {
                EXPECT_FALSE(any_i) << where;
              }
              // A causal stride-1 conv (pf = d(K − 1), pb = 0): the unshifted newest tap covers both.
              if (s == 1 && pf == d * (k - 1) && pb == 0) {
                EXPECT_EQ(f, k - 1) << where;
                EXPECT_EQ(i, k - 1) << where;
              }
            }
  EXPECT_GT(found_forward, 50);
  EXPECT_GT(found_input, 50);
}

TEST(CudaIndex, SoftmaxRowsAndOneHotOffsets) {
  // Row r of an (outer, C, inner) view: entry c at base + c·inner, as the CPU kernel walks it.
  const SoftmaxRows R{3, 4, 5};
  std::set<int64_t> seen;
  for (int64_t r = 0; r < R.outer * R.inner; ++r)
    for (int64_t c = 0; c < R.C; ++c) {
      const int64_t at = cuda::softmax_row_base(r, R) + c * R.inner;
      ASSERT_EQ(at, ((r / R.inner) * R.C + c) * R.inner + r % R.inner);
      seen.insert(at);
    }
  EXPECT_EQ(int64_t(seen.size()), R.outer * R.C * R.inner);  // every element exactly once
  // one_hot_channels_first puts the 1 of position k where one_hot_offset says.
  const Tensor ids = Tensor::from_vector<int64_t>({2, 0, 1, 3, 3, 0}, {2, 3});
  const std::vector<double> oh = one_hot_channels_first(ids, 4, DType::F64).to_vector<double>();
  const std::vector<int64_t> idv = ids.to_vector<int64_t>();
  for (int64_t k = 0; k < 6; ++k) EXPECT_EQ(oh[size_t(cuda::one_hot_offset(k, idv[size_t(k)], 4, 3))], 1.0) << k;
}

// The optimisers' tensor tables (cuda/ops/tensor_table.h): over lists that overflow a table's
// tensors (32) and blocks (480), with empty tensors and a tensor longer than one table covers,
// every element of every tensor is visited exactly once, through the array pointers of its own
// tensor; no table holds more than its limits; first_block counts the blocks before.
TEST(CudaIndex, TensorTablesCoverEveryElementOnce) {
  using namespace seqnet::cuda;
  const std::vector<std::vector<int64_t>> lists = {
      {},
      {0, 0},
      {1},
      {kTableChunk - 1, kTableChunk, kTableChunk + 1, 0, 3},
      {kTableBlocks * kTableChunk + 5, 2},                // a tensor past one table's blocks
      {2 * kTableBlocks * kTableChunk + kTableChunk, 9},  // and past two, ending on a full chunk
  };
  std::vector<std::vector<int64_t>> all = lists;
  std::vector<int64_t> many;  // 75 tensors, 60 of them non-empty and of one chunk: two tables
  for (int64_t i = 0; i < 75; ++i) many.push_back(i % 5 == 0 ? 0 : 1 + 13 * i);
  all.push_back(many);
  std::vector<int64_t> mixed;  // 1 to 10 chunks each, and a long one: both limits end tables
  for (int64_t i = 0; i < 90; ++i) mixed.push_back(1 + 997 * i);
  mixed.insert(mixed.begin() + 10, 500 * kTableChunk + 17);
  all.push_back(mixed);
  for (const std::vector<int64_t>& ns : all) {
    // Tensor i's arrays are fake pointers naming it: (i + 1)·16 and (i + 1)·16 + 8.
    std::vector<std::array<void*, 2>> ptrs;
    for (size_t i = 0; i < ns.size(); ++i)
      ptrs.push_back({reinterpret_cast<void*>((i + 1) * 16), reinterpret_cast<void*>((i + 1) * 16 + 8)});
    std::vector<std::vector<int>> seen(ns.size());
    for (size_t i = 0; i < ns.size(); ++i) seen[i].assign(size_t(ns[i]), 0);
    int64_t blocks_so_far = 0, launches = 0;
    for_each_table<2>(ptrs, ns, [&](const TensorTable<2>& table, int blocks, int64_t first) {
      ++launches;
      ASSERT_GT(blocks, 0);
      ASSERT_LE(blocks, kTableBlocks);
      EXPECT_EQ(first, blocks_so_far);
      blocks_so_far += blocks;
      for (int b = 0; b < blocks; ++b) {
        const TableRange r = table_range(table, b);
        ASSERT_GE(r.t, 0);
        ASSERT_LT(r.t, kTableTensors);
        const size_t i = reinterpret_cast<uintptr_t>(table.ptr[0][r.t]) / 16 - 1;
        ASSERT_LT(i, ns.size());
        EXPECT_EQ(reinterpret_cast<uintptr_t>(table.ptr[1][r.t]), (i + 1) * 16 + 8);
        EXPECT_EQ(table.n[r.t], ns[i]);
        ASSERT_LT(r.lo, r.hi);
        ASSERT_LE(r.hi, ns[i]);
        EXPECT_LE(r.hi - r.lo, kTableChunk);
        for (int64_t k = r.lo; k < r.hi; ++k) ++seen[i][size_t(k)];
      }
    });
    EXPECT_EQ(blocks_so_far, table_blocks(ns));
    for (size_t i = 0; i < ns.size(); ++i)
      for (int64_t k = 0; k < ns[i]; ++k) ASSERT_EQ(seen[i][size_t(k)], 1) << "tensor " << i << " element " << k;
    if (ns == many) {
      EXPECT_EQ(launches, 2) << "60 non-empty one-chunk tensors: tables of 32 and 28";
    }
  }
}

}  // namespace
}  // namespace seqnet
