// core/philox.h — Philox4x32-10 (Salmon et al., SC'11), one definition for the CPU and the GPU.
//
// philox_block(seed, index) is the 128-bit block `index` of the stream keyed by `seed`
// (Generator::block, core/rng.h). A CUDA kernel computes the same bits per element from
// (seed, first block + element / 4), so the GPU's dropout masks equal the CPU's bit for bit.
#pragma once
#include <cstdint>

#include "core/host_device.h"

#if defined(__AVX2__) && !defined(__CUDACC__)
#include <immintrin.h>
#endif

namespace seqnet {

struct PhiloxBlock {
  uint32_t lane[4];
};

SEQNET_HOST_DEVICE inline PhiloxBlock philox4x32_10_rounds(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                                           uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;  // multipliers
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;  // Weyl key increments
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(M0) * c0;
    const uint64_t p1 = uint64_t(M1) * c2;
    const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    const uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0, c1 = lo1, c2 = n2, c3 = lo0;
    k0 += W0;
    k1 += W1;
  }
  return {{c0, c1, c2, c3}};
}

// Block `index` of the stream keyed by `seed`: counter (index, 0), key (seed).
SEQNET_HOST_DEVICE inline PhiloxBlock philox_block(uint64_t seed, uint64_t index) {
  return philox4x32_10_rounds(uint32_t(index), uint32_t(index >> 32), 0u, 0u, uint32_t(seed), uint32_t(seed >> 32));
}

// Blocks first .. first + 7 of the stream keyed by `seed`: lanes[l][j] = lane l of block first + j.
// The same rounds as philox4x32_10_rounds on eight counters side by side (the CPU's dropout and
// uniform fills; a CUDA thread computes one block with philox_block instead). This is the
// portable form; philox_blocks8 below runs it in AVX2 registers where the build has them.
inline void philox_blocks8_portable(uint64_t seed, uint64_t first, uint32_t lanes[4][8]) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  uint32_t c0[8], c1[8], c2[8], c3[8];
  for (int j = 0; j < 8; ++j) {
    const uint64_t index = first + uint64_t(j);
    c0[j] = uint32_t(index), c1[j] = uint32_t(index >> 32), c2[j] = 0u, c3[j] = 0u;
  }
  for (int round = 0; round < 10; ++round) {
    for (int j = 0; j < 8; ++j) {
      const uint64_t p0 = uint64_t(M0) * c0[j];
      const uint64_t p1 = uint64_t(M1) * c2[j];
      const uint32_t n0 = uint32_t(p1 >> 32) ^ c1[j] ^ k0, n2 = uint32_t(p0 >> 32) ^ c3[j] ^ k1;
      c0[j] = n0, c1[j] = uint32_t(p1), c2[j] = n2, c3[j] = uint32_t(p0);
    }
    k0 += W0;
    k1 += W1;
  }
  for (int j = 0; j < 8; ++j) lanes[0][j] = c0[j], lanes[1][j] = c1[j], lanes[2][j] = c2[j], lanes[3][j] = c3[j];
}

// The same eight blocks; with AVX2, _mm256_mul_epu32 forms the 32×32→64-bit products of the even
// lanes, and of the odd lanes after a shift, so all eight counters advance in one register each.
inline void philox_blocks8(uint64_t seed, uint64_t first, uint32_t lanes[4][8]) {
#if defined(__AVX2__) && !defined(__CUDACC__)
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  alignas(32) uint32_t lo[8], hi[8];
  for (int j = 0; j < 8; ++j) lo[j] = uint32_t(first + uint64_t(j)), hi[j] = uint32_t((first + uint64_t(j)) >> 32);
  __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
  __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
  __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
  const __m256i m0 = _mm256_set1_epi32(int(M0)), m1 = _mm256_set1_epi32(int(M1));
  // (hi, lo) words of a · m for the eight 32-bit lanes of a.
  auto mul = [](__m256i a, __m256i m, __m256i& hi_out, __m256i& lo_out) {
    const __m256i even = _mm256_mul_epu32(a, m);                          // lanes 0, 2, 4, 6
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);    // lanes 1, 3, 5, 7
    hi_out = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    lo_out = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  };
  for (int round = 0; round < 10; ++round) {
    __m256i hi0, lo0, hi1, lo1;
    mul(c0, m0, hi0, lo0);
    mul(c2, m1, hi1, lo1);
    const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(int(k0)));
    const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(int(k1)));
    c0 = n0, c1 = lo1, c2 = n2, c3 = lo0;
    k0 += W0;
    k1 += W1;
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes[0]), c0);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes[1]), c1);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes[2]), c2);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes[3]), c3);
#else
  philox_blocks8_portable(seed, first, lanes);
#endif
}

// Lanes of blocks first .. first + 15 in element order: out[4·j + l] = lane l of block first + j
// (element i of a stream uses lane i % 4 of block i / 4: the uniform-f32 layout of core/rng.h).
// The CPU's dropout kernels draw their masks with it. Portable form; philox_lanes16 below.
inline void philox_lanes16_portable(uint64_t seed, uint64_t first, uint32_t out[64]) {
  for (int half = 0; half < 2; ++half) {
    uint32_t lanes[4][8];
    philox_blocks8_portable(seed, first + uint64_t(8 * half), lanes);
    for (int j = 0; j < 8; ++j)
      for (int l = 0; l < 4; ++l) out[32 * half + 4 * j + l] = lanes[l][j];
  }
}

// The same 64 values. With AVX2 the two sets of eight blocks advance side by side, so that each
// round's multiplies of one set overlap the other's (one set alone waits on the latency of the
// multiply → blend → xor chain), and the 4 × 8 lanes are put in element order by shuffles.
inline void philox_lanes16(uint64_t seed, uint64_t first, uint32_t out[64]) {
#if defined(__AVX2__) && !defined(__CUDACC__)
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  alignas(32) uint32_t lo[16], hi[16];
  for (int j = 0; j < 16; ++j) lo[j] = uint32_t(first + uint64_t(j)), hi[j] = uint32_t((first + uint64_t(j)) >> 32);
  __m256i a0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
  __m256i a1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
  __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo + 8));
  __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi + 8));
  __m256i a2 = _mm256_setzero_si256(), a3 = a2, b2 = a2, b3 = a2;
  const __m256i m0 = _mm256_set1_epi32(int(M0)), m1 = _mm256_set1_epi32(int(M1));
  auto mul = [](__m256i a, __m256i m, __m256i& hi_out, __m256i& lo_out) {
    const __m256i even = _mm256_mul_epu32(a, m);
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    hi_out = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    lo_out = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  };
  for (int round = 0; round < 10; ++round) {
    const __m256i key0 = _mm256_set1_epi32(int(k0)), key1 = _mm256_set1_epi32(int(k1));
    __m256i ahi0, alo0, ahi1, alo1, bhi0, blo0, bhi1, blo1;
    mul(a0, m0, ahi0, alo0);
    mul(b0, m0, bhi0, blo0);
    mul(a2, m1, ahi1, alo1);
    mul(b2, m1, bhi1, blo1);
    a0 = _mm256_xor_si256(_mm256_xor_si256(ahi1, a1), key0);
    b0 = _mm256_xor_si256(_mm256_xor_si256(bhi1, b1), key0);
    a2 = _mm256_xor_si256(_mm256_xor_si256(ahi0, a3), key1);
    b2 = _mm256_xor_si256(_mm256_xor_si256(bhi0, b3), key1);
    a1 = alo1, b1 = blo1, a3 = alo0, b3 = blo0;
    k0 += W0;
    k1 += W1;
  }
  // c0..c3 hold lane 0..3 of blocks 0..7: transpose so that each register holds two whole blocks.
  auto store_in_order = [](__m256i c0, __m256i c1, __m256i c2, __m256i c3, uint32_t* o) {
    const __m256i t0 = _mm256_unpacklo_epi32(c0, c1), t1 = _mm256_unpackhi_epi32(c0, c1);
    const __m256i t2 = _mm256_unpacklo_epi32(c2, c3), t3 = _mm256_unpackhi_epi32(c2, c3);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);  // block 0 | block 4
    const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);  // block 1 | block 5
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);  // block 2 | block 6
    const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);  // block 3 | block 7
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), _mm256_permute2x128_si256(u0, u1, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 8), _mm256_permute2x128_si256(u2, u3, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 16), _mm256_permute2x128_si256(u0, u1, 0x31));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 24), _mm256_permute2x128_si256(u2, u3, 0x31));
  };
  store_in_order(a0, a1, a2, a3, out);
  store_in_order(b0, b1, b2, b3, out + 32);
#else
  philox_lanes16_portable(seed, first, out);
#endif
}

// The top 24 bits of a lane as a float in [0, 1) (the uniform-f32 layout of core/rng.h).
SEQNET_HOST_DEVICE inline float philox_unit_float(uint32_t x) { return float(x >> 8) * (1.0f / 16777216.0f); }

}  // namespace seqnet
