// tests/checkpoint_util.h — comparing two training checkpoints (exact resume, bitwise reruns).
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "train/loop/checkpoint.h"

namespace seqnet::testing {

// Every tensor (model and optimiser state) and the RNG / lr state of two checkpoints agree bit for bit.
inline void expect_same_checkpoint(const std::string& a, const std::string& b) {
  Checkpoint A = load_checkpoint(a), B = load_checkpoint(b);
  ASSERT_EQ(A.file.tensors.size(), B.file.tensors.size());
  for (size_t i = 0; i < A.file.tensors.size(); ++i) {
    const auto& [na, ta] = A.file.tensors[i];
    const auto& [nb, tb] = B.file.tensors[i];
    ASSERT_EQ(na, nb);
    ASSERT_EQ(ta.shape(), tb.shape()) << na;
    EXPECT_EQ(std::memcmp(ta.raw_data(), tb.raw_data(), size_t(ta.numel()) * dtype_size(ta.dtype())), 0)
        << "tensor " << na << " differs";
  }
  EXPECT_EQ(A.state.epoch, B.state.epoch);
  EXPECT_EQ(A.state.global_step, B.state.global_step);
  EXPECT_EQ(A.state.rng.seed, B.state.rng.seed);
  EXPECT_EQ(A.state.rng.offset, B.state.rng.offset);
  EXPECT_EQ(A.state.lr, B.state.lr);
  EXPECT_EQ(A.state.valid_history, B.state.valid_history);
}

}  // namespace seqnet::testing
