// core/philox.h — Philox4x32-10 (Salmon et al., SC'11), one definition for the CPU and the GPU.
//
// philox_block(seed, index) is the 128-bit block `index` of the stream keyed by `seed`
// (Generator::block, core/rng.h). A CUDA kernel computes the same bits per element from
// (seed, first block + element / 4), so the GPU's dropout masks equal the CPU's bit for bit.
#pragma once
#include <cstdint>

#include "core/host_device.h"

#if (defined(__AVX2__) || defined(__AVX512F__)) && !defined(__CUDACC__)
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

#if defined(__AVX2__) && !defined(__CUDACC__)
// Eight Philox counters in AVX2 registers: c[l] holds lane l of blocks first .. first + 7.
// _mm256_mul_epu32 forms the 32×32→64-bit products of the even lanes, and of the odd lanes after
// a shift, so all eight counters advance in one register each.
struct Philox8 {
  __m256i c[4];

  explicit Philox8(uint64_t first) {
    alignas(32) uint32_t lo[8], hi[8];
    for (int j = 0; j < 8; ++j) lo[j] = uint32_t(first + uint64_t(j)), hi[j] = uint32_t((first + uint64_t(j)) >> 32);
    c[0] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
    c[1] = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
    c[2] = c[3] = _mm256_setzero_si256();
  }
  // One round of philox4x32_10_rounds on all eight counters, with the round's key words k0, k1.
  void round(uint32_t k0, uint32_t k1) {
    const __m256i m0 = _mm256_set1_epi32(int(0xD2511F53u)), m1 = _mm256_set1_epi32(int(0xCD9E8D57u));
    __m256i hi0, lo0, hi1, lo1;
    mul(c[0], m0, hi0, lo0);
    mul(c[2], m1, hi1, lo1);
    c[0] = _mm256_xor_si256(_mm256_xor_si256(hi1, c[1]), _mm256_set1_epi32(int(k0)));
    c[2] = _mm256_xor_si256(_mm256_xor_si256(hi0, c[3]), _mm256_set1_epi32(int(k1)));
    c[1] = lo1, c[3] = lo0;
  }
  // (hi, lo) words of a · m for the eight 32-bit lanes of a.
  static void mul(__m256i a, __m256i m, __m256i& hi_out, __m256i& lo_out) {
    const __m256i even = _mm256_mul_epu32(a, m);                        // lanes 0, 2, 4, 6
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);  // lanes 1, 3, 5, 7
    hi_out = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    lo_out = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  }
  // The eight blocks in element order: out[4·j + l] = lane l of block j (a 4 × 8 transpose).
  void store_in_order(uint32_t* out) const {
    const __m256i t0 = _mm256_unpacklo_epi32(c[0], c[1]), t1 = _mm256_unpackhi_epi32(c[0], c[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(c[2], c[3]), t3 = _mm256_unpackhi_epi32(c[2], c[3]);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);  // block 0 | block 4
    const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);  // block 1 | block 5
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);  // block 2 | block 6
    const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);  // block 3 | block 7
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permute2x128_si256(u0, u1, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), _mm256_permute2x128_si256(u2, u3, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 16), _mm256_permute2x128_si256(u0, u1, 0x31));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 24), _mm256_permute2x128_si256(u2, u3, 0x31));
  }
};
#endif

// The same eight blocks, in AVX2 registers where the build has them.
inline void philox_blocks8(uint64_t seed, uint64_t first, uint32_t lanes[4][8]) {
#if defined(__AVX2__) && !defined(__CUDACC__)
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  Philox8 p(first);
  for (int round = 0; round < 10; ++round, k0 += 0x9E3779B9u, k1 += 0xBB67AE85u) p.round(k0, k1);
  for (int l = 0; l < 4; ++l) _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes[l]), p.c[l]);
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

#if defined(__AVX512F__) && !defined(__CUDACC__)
// GCC 12's plain forms of these AVX-512 intrinsics fill their unused merge source from an
// uninitialised variable and warn (-Wuninitialized, GCC bug 105593); the zero-masked forms with
// every lane selected are the same instructions without it.
namespace avx512 {
inline __m512i mul_epu32(__m512i a, __m512i b) { return _mm512_maskz_mul_epu32(0xFF, a, b); }
inline __m512i srli64(__m512i a, unsigned n) { return _mm512_maskz_srli_epi64(0xFF, a, n); }
inline __m512i slli64(__m512i a, unsigned n) { return _mm512_maskz_slli_epi64(0xFF, a, n); }
inline __m512i unpacklo32(__m512i a, __m512i b) { return _mm512_maskz_unpacklo_epi32(0xFFFF, a, b); }
inline __m512i unpackhi32(__m512i a, __m512i b) { return _mm512_maskz_unpackhi_epi32(0xFFFF, a, b); }
inline __m512i unpacklo64(__m512i a, __m512i b) { return _mm512_maskz_unpacklo_epi64(0xFF, a, b); }
inline __m512i unpackhi64(__m512i a, __m512i b) { return _mm512_maskz_unpackhi_epi64(0xFF, a, b); }
template <int kImm>
inline __m512i shuffle_i32x4(__m512i a, __m512i b) {
  return _mm512_maskz_shuffle_i32x4(0xFFFF, a, b, kImm);
}
}  // namespace avx512

// Sixteen Philox counters in AVX-512 registers, as Philox8 does eight: c[l] holds lane l of blocks
// first .. first + 15. (A multiply forms eight 64-bit products, twice AVX2's four.)
struct Philox16 {
  __m512i c[4];

  explicit Philox16(uint64_t first) {
    alignas(64) uint32_t lo[16], hi[16];
    for (int j = 0; j < 16; ++j) lo[j] = uint32_t(first + uint64_t(j)), hi[j] = uint32_t((first + uint64_t(j)) >> 32);
    c[0] = _mm512_load_si512(lo);
    c[1] = _mm512_load_si512(hi);
    c[2] = c[3] = _mm512_setzero_si512();
  }
  void round(uint32_t k0, uint32_t k1) {
    const __m512i m0 = _mm512_set1_epi32(int(0xD2511F53u)), m1 = _mm512_set1_epi32(int(0xCD9E8D57u));
    __m512i hi0, lo0, hi1, lo1;
    mul(c[0], m0, hi0, lo0);
    mul(c[2], m1, hi1, lo1);
    c[0] = _mm512_ternarylogic_epi32(hi1, c[1], _mm512_set1_epi32(int(k0)), 0x96);  // a ^ b ^ c
    c[2] = _mm512_ternarylogic_epi32(hi0, c[3], _mm512_set1_epi32(int(k1)), 0x96);
    c[1] = lo1, c[3] = lo0;
  }
  static void mul(__m512i a, __m512i m, __m512i& hi_out, __m512i& lo_out) {
    const __m512i even = avx512::mul_epu32(a, m);                     // lanes 0, 2, …, 14
    const __m512i odd = avx512::mul_epu32(avx512::srli64(a, 32), m);  // lanes 1, 3, …, 15
    hi_out = _mm512_mask_blend_epi32(0xAAAA, avx512::srli64(even, 32), odd);
    lo_out = _mm512_mask_blend_epi32(0xAAAA, even, avx512::slli64(odd, 32));
  }
  // out[4·j + l] = lane l of block j: in each 128-bit quarter q the unpacks give u_r = block 4q + r
  // (as Philox8::store_in_order), then the quarters are transposed: output k holds quarter k of
  // u0, u1, u2, u3.
  void store_in_order(uint32_t* out) const {
    using namespace avx512;
    const __m512i t0 = unpacklo32(c[0], c[1]), t1 = unpackhi32(c[0], c[1]);
    const __m512i t2 = unpacklo32(c[2], c[3]), t3 = unpackhi32(c[2], c[3]);
    const __m512i u0 = unpacklo64(t0, t2), u1 = unpackhi64(t0, t2);
    const __m512i u2 = unpacklo64(t1, t3), u3 = unpackhi64(t1, t3);
    const __m512i v0 = shuffle_i32x4<0x44>(u0, u1), v1 = shuffle_i32x4<0x44>(u2, u3);  // quarters 0, 1
    const __m512i v2 = shuffle_i32x4<0xEE>(u0, u1), v3 = shuffle_i32x4<0xEE>(u2, u3);  // quarters 2, 3
    _mm512_storeu_si512(out, shuffle_i32x4<0x88>(v0, v1));
    _mm512_storeu_si512(out + 16, shuffle_i32x4<0xDD>(v0, v1));
    _mm512_storeu_si512(out + 32, shuffle_i32x4<0x88>(v2, v3));
    _mm512_storeu_si512(out + 48, shuffle_i32x4<0xDD>(v2, v3));
  }
};
#endif

// The same 64 values in AVX2 registers: two sets of eight blocks advance side by side, so that
// each round's multiplies of one set overlap the other's (one set alone waits on the latency of
// the multiply → blend → xor chain), and the lanes are put in element order by shuffles.
#if defined(__AVX2__) && !defined(__CUDACC__)
inline void philox_lanes16_avx2(uint64_t seed, uint64_t first, uint32_t out[64]) {
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  Philox8 a(first), b(first + 8);
  for (int round = 0; round < 10; ++round, k0 += 0x9E3779B9u, k1 += 0xBB67AE85u) a.round(k0, k1), b.round(k0, k1);
  a.store_in_order(out);
  b.store_in_order(out + 32);
}
#endif

inline void philox_lanes16(uint64_t seed, uint64_t first, uint32_t out[64]) {
#if defined(__AVX2__) && !defined(__CUDACC__)
  philox_lanes16_avx2(seed, first, out);
#else
  philox_lanes16_portable(seed, first, out);
#endif
}

// Lanes of blocks first .. first + 31 in element order (128 values): the CPU dropout's group.
// With AVX-512 two sets of sixteen blocks advance side by side (one set alone is bound by the
// latency of each round's chain, as for AVX2 above); otherwise two calls of philox_lanes16. The
// tests check it, and philox_lanes16 in each form the build has, against philox_block.
inline void philox_lanes32(uint64_t seed, uint64_t first, uint32_t out[128]) {
#if defined(__AVX512F__) && !defined(__CUDACC__)
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  Philox16 a(first), b(first + 16);
  for (int round = 0; round < 10; ++round, k0 += 0x9E3779B9u, k1 += 0xBB67AE85u) a.round(k0, k1), b.round(k0, k1);
  a.store_in_order(out);
  b.store_in_order(out + 64);
#else
  philox_lanes16(seed, first, out);
  philox_lanes16(seed, first + 16, out + 64);
#endif
}

// The top 24 bits of a lane as a float in [0, 1) (the uniform-f32 layout of core/rng.h).
SEQNET_HOST_DEVICE inline float philox_unit_float(uint32_t x) { return float(x >> 8) * (1.0f / 16777216.0f); }

}  // namespace seqnet
