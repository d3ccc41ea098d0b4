// Philox RNG (known-answer vectors, reproducibility, resumable state) and allocator accounting.
#include <gtest/gtest.h>

#include "core/allocator.h"
#include "core/philox.h"
#include "core/rng.h"
#include "core/tensor.h"

using namespace seqnet;

TEST(Rng, PhiloxKnownAnswers) {
  // Known-answer tests of Philox4x32-10 from the Random123 distribution (kat_vectors).
  auto z = philox4x32_10({0, 0, 0, 0}, {0, 0});
  EXPECT_EQ(z, (std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  auto f = philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu});
  EXPECT_EQ(f, (std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  auto p = philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u});
  EXPECT_EQ(p, (std::array<uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(Rng, SameSeedSameStreamDifferentSeedDifferentStream) {
  Generator a(7), b(7), c(8);
  std::vector<float> x(100), y(100), z(100);
  a.uniform(x.data(), 100, 0.f, 1.f);
  b.uniform(y.data(), 100, 0.f, 1.f);
  c.uniform(z.data(), 100, 0.f, 1.f);
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
}

TEST(Rng, StateSaveAndRestoreResumesExactly) {
  Generator g(123);
  std::vector<double> warm(37);
  g.normal(warm.data(), 37, 0.0, 1.0);  // advance
  RngState saved = g.state();
  std::vector<double> first(50), again(50);
  g.uniform(first.data(), 50, -1.0, 1.0);
  Generator h(999);
  h.set_state(saved);
  h.uniform(again.data(), 50, -1.0, 1.0);
  EXPECT_EQ(first, again);
  EXPECT_EQ(g.state(), h.state());
}

TEST(Rng, ElementIIsIndependentOfTheOthers) {
  // The stream layout lets any thread (or GPU thread) compute element i alone.
  Generator g(5);
  RngState s = g.state();
  std::vector<float> all(10);
  g.uniform(all.data(), 10, 0.f, 1.f);
  Generator h(5);
  h.set_state(s);
  for (int i = 0; i < 10; ++i) {
    auto b = h.block(s.offset + uint64_t(i) / 4);
    EXPECT_EQ(all[size_t(i)], u32_to_unit_float(b[size_t(i % 4)]));
  }
  EXPECT_EQ(g.state().offset, s.offset + 3);  // ceil(10 / 4) blocks consumed
}

TEST(Rng, EightBlocksAtOnceEqualOneAtATime) {
  // philox_blocks8 (the CPU's vectorised fills) must give exactly philox_block's bits, also
  // where the counter's low word wraps into the high word.
  for (uint64_t seed : {uint64_t(0), uint64_t(2024), ~uint64_t(0) - 5})
    for (uint64_t first : {uint64_t(0), uint64_t(13), (uint64_t(1) << 32) - 3, ~uint64_t(0) - 20}) {
      uint32_t lanes[4][8], portable[4][8];
      philox_blocks8(seed, first, lanes);  // AVX2 where the build has it
      philox_blocks8_portable(seed, first, portable);
      for (int j = 0; j < 8; ++j) {
        const PhiloxBlock b = philox_block(seed, first + uint64_t(j));
        for (int l = 0; l < 4; ++l) {
          EXPECT_EQ(lanes[l][j], b.lane[l]) << "seed " << seed << " block " << first + j;
          EXPECT_EQ(portable[l][j], b.lane[l]) << "seed " << seed << " block " << first + j;
        }
      }
    }
}

TEST(Rng, SixteenBlocksInElementOrderEqualOneAtATime) {
  // philox_lanes16: out[4j + l] = lane l of block first + j, in every form the build has:
  // portable, and AVX2 (two interleaved sets of eight blocks, transposed by shuffles).
  std::vector<std::pair<const char*, void (*)(uint64_t, uint64_t, uint32_t*)>> forms = {
      {"portable", philox_lanes16_portable}, {"philox_lanes16", philox_lanes16}};
#if defined(__AVX2__)
  forms.push_back({"avx2", philox_lanes16_avx2});
#endif
  for (const auto& [name, fn] : forms)
    for (uint64_t seed : {uint64_t(0), uint64_t(2024), ~uint64_t(0) - 5})
      for (uint64_t first : {uint64_t(0), uint64_t(13), (uint64_t(1) << 32) - 9, ~uint64_t(0) - 20}) {
        uint32_t out[64];
        fn(seed, first, out);
        for (int j = 0; j < 16; ++j) {
          const PhiloxBlock b = philox_block(seed, first + uint64_t(j));
          for (int l = 0; l < 4; ++l)
            EXPECT_EQ(out[4 * j + l], b.lane[l]) << name << ": seed " << seed << " block " << first + j;
        }
      }
}

TEST(Rng, ThirtyTwoBlocksInElementOrderEqualOneAtATime) {
  // philox_lanes32 (the CPU dropout's masks: with AVX-512 two interleaved sets of sixteen blocks,
  // quarters transposed by shuffles; else two philox_lanes16).
  for (uint64_t seed : {uint64_t(0), uint64_t(2024), ~uint64_t(0) - 5})
    for (uint64_t first : {uint64_t(0), uint64_t(13), (uint64_t(1) << 32) - 17, ~uint64_t(0) - 40}) {
      uint32_t out[128];
      philox_lanes32(seed, first, out);
      for (int j = 0; j < 32; ++j) {
        const PhiloxBlock b = philox_block(seed, first + uint64_t(j));
        for (int l = 0; l < 4; ++l) EXPECT_EQ(out[4 * j + l], b.lane[l]) << "seed " << seed << " block " << first + j;
      }
    }
}

TEST(Rng, UniformFillsFollowTheLayoutAtEveryLength) {
  // f32: value i from lane i % 4 of block offset + i / 4; f64: lanes (2j, 2j+1) of block i / 2.
  for (int64_t n : {1, 2, 3, 4, 5, 7, 8, 9, 31}) {
    Generator g(77);
    g.reserve(3);
    const RngState s = g.state();
    std::vector<float> f(size_t(n), -1.f);
    g.uniform(f.data(), n, -2.f, 3.f);
    std::vector<double> d(size_t(n), -1.0);
    const uint64_t dfirst = g.state().offset;
    g.uniform(d.data(), n, 0.0, 1.0);
    for (int64_t i = 0; i < n; ++i) {
      const auto b = g.block(s.offset + uint64_t(i) / 4);
      EXPECT_EQ(f[size_t(i)], -2.f + 5.f * u32_to_unit_float(b[size_t(i % 4)])) << n << " " << i;
      const auto bd = g.block(dfirst + uint64_t(i) / 2);
      const size_t j = size_t(i % 2);
      EXPECT_EQ(d[size_t(i)], u64_to_unit_double((uint64_t(bd[2 * j]) << 32) | bd[2 * j + 1])) << n << " " << i;
    }
    EXPECT_EQ(g.state().offset, s.offset + uint64_t(n + 3) / 4 + uint64_t(n + 1) / 2);
  }
}

TEST(Allocator, ExactLiveAndPeakCounts) {
  Allocator& a = cpu_allocator();
  const AllocStats s0 = a.stats();
  a.reset_peak();
  void* p1 = a.allocate(1000);
  void* p2 = a.allocate(24);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p1) % kAlignment, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p2) % kAlignment, 0u);
  EXPECT_EQ(a.stats().live_bytes, s0.live_bytes + 1024);
  EXPECT_EQ(a.stats().live_blocks, s0.live_blocks + 2);
  a.deallocate(p1, 1000);
  EXPECT_EQ(a.stats().live_bytes, s0.live_bytes + 24);
  EXPECT_EQ(a.stats().peak_bytes, s0.live_bytes + 1024);
  void* p3 = a.allocate(500);
  EXPECT_EQ(a.stats().peak_bytes, s0.live_bytes + 1024) << "500 + 24 < 1024: peak unchanged";
  a.reset_peak();
  EXPECT_EQ(a.stats().peak_bytes, s0.live_bytes + 524);
  a.deallocate(p3, 500);
  a.deallocate(p2, 24);
  EXPECT_EQ(a.stats().live_bytes, s0.live_bytes);
  EXPECT_EQ(a.stats().total_allocs, s0.total_allocs + 3);
}

TEST(Allocator, TensorsAccountTheirBytesAndViewsAllocateNothing) {
  Allocator& a = cpu_allocator();
  const AllocStats s0 = a.stats();
  {
    Tensor t = Tensor::zeros({10, 10}, DType::F64);
    EXPECT_EQ(a.stats().live_bytes, s0.live_bytes + 800);
    Tensor v = t.transpose(0, 1).slice(1, 0, 10, 3);
    EXPECT_EQ(a.stats().total_allocs, s0.total_allocs + 1);
  }
  EXPECT_EQ(a.stats().live_bytes, s0.live_bytes);
}

TEST(Allocator, FreedBlocksAreReusedFromTheCache) {
  Allocator& a = cpu_allocator();
  a.empty_cache();
  EXPECT_EQ(a.stats().cached_bytes, 0);
  void* p = a.allocate(100000);
  a.deallocate(p, 100000);
  const int64_t cached = a.stats().cached_bytes;
  EXPECT_GE(cached, 100000);
  EXPECT_LE(cached, 125000) << "size classes waste at most 25 %";
  void* q = a.allocate(99000);  // same size class
  EXPECT_EQ(p, q);
  EXPECT_EQ(a.stats().cached_bytes, 0) << "the one cached block was handed out again";
  a.deallocate(q, 99000);
  a.empty_cache();
  EXPECT_EQ(a.stats().cached_bytes, 0);
}
