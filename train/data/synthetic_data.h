// train/data/synthetic_data.h — the synthetic tasks: copy memory (MODELS.md §10.1) and the adding
// problem (TCN paper). Both draw from a seeded Generator: the same generator state gives the
// same data, and the generator advances so consecutive calls give fresh data.
#pragma once
#include <cstdint>

#include "core/rng.h"
#include "core/tensor.h"

namespace seqnet {

// Copy memory: x (n, 1, T+20) f32 = 10 digits uniform in 1..8, then T−1 zeros, then 11 nines
// (raw digit values, one float channel); y (n, 10) i64 = the 10 digits, used directly as class
// ids in 0..9 (only 1..8 occur). T >= 1.
void make_copy_memory(int64_t n, int64_t T, Generator& gen, Tensor& x, Tensor& y);

// Adding problem: x (n, 2, T) f32, channel 0 uniform in [0, 1), channel 1 a marker with exactly
// two 1s — one at a position in [0, T/2), one in [T/2, T) — and zeros elsewhere;
// y (n, 1) f32 = the sum of the two marked values (computed in f32). T >= 2.
void make_adding(int64_t n, int64_t T, Generator& gen, Tensor& x, Tensor& y);

}  // namespace seqnet
