// Copy memory and adding problem generators.
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "train/data/synthetic_data.h"

using namespace seqnet;

TEST(SyntheticCopyMemory, ShapesStructureAndTargets) {
  Generator gen(1111);
  Tensor x, y;
  const int64_t n = 64, T = 30, L = T + 20;
  make_copy_memory(n, T, gen, x, y);
  ASSERT_EQ(x.shape(), (Shape{n, 1, L}));
  ASSERT_EQ(x.dtype(), DType::F32);
  ASSERT_EQ(y.shape(), (Shape{n, 10}));
  ASSERT_EQ(y.dtype(), DType::I64);
  const float* px = x.data<float>();
  const int64_t* py = y.data<int64_t>();
  int counts[10] = {0};
  for (int64_t s = 0; s < n; ++s) {
    const float* row = px + s * L;
    for (int64_t k = 0; k < 10; ++k) {
      int64_t d = py[s * 10 + k];
      ASSERT_GE(d, 1);
      ASSERT_LE(d, 8);
      ASSERT_EQ(row[k], float(d));
      ++counts[d];
    }
    for (int64_t t = 10; t < 10 + T - 1; ++t) ASSERT_EQ(row[t], 0.0f) << "t=" << t;
    for (int64_t t = 10 + T - 1; t < L; ++t) ASSERT_EQ(row[t], 9.0f) << "t=" << t;
  }
  for (int d = 1; d <= 8; ++d) EXPECT_GT(counts[d], 40) << "digit " << d;  // 640 draws, ~80 each
}

TEST(SyntheticCopyMemory, DefaultLengthAndDeterminism) {
  Generator a(7), b(7), c(8);
  Tensor x1, y1, x2, y2, x3, y3;
  make_copy_memory(4, 1000, a, x1, y1);
  make_copy_memory(4, 1000, b, x2, y2);
  make_copy_memory(4, 1000, c, x3, y3);
  EXPECT_EQ(x1.shape(), (Shape{4, 1, 1020}));
  EXPECT_EQ(x1.to_vector<float>(), x2.to_vector<float>());
  EXPECT_EQ(y1.to_vector<int64_t>(), y2.to_vector<int64_t>());
  EXPECT_NE(y1.to_vector<int64_t>(), y3.to_vector<int64_t>());
  // The generator advances: a second batch differs.
  Tensor x4, y4;
  make_copy_memory(4, 1000, a, x4, y4);
  EXPECT_NE(y1.to_vector<int64_t>(), y4.to_vector<int64_t>());
  // T = 1: no zeros at all, digits then 11 nines.
  Tensor xs, ys;
  make_copy_memory(1, 1, a, xs, ys);
  EXPECT_EQ(xs.shape(), (Shape{1, 1, 21}));
  for (int64_t t = 10; t < 21; ++t) EXPECT_EQ(xs.at<float>({0, 0, t}), 9.0f);
  EXPECT_THROW(make_copy_memory(0, 10, a, xs, ys), Error);
  EXPECT_THROW(make_copy_memory(1, 0, a, xs, ys), Error);
}

TEST(SyntheticAdding, ShapesMarkersAndTarget) {
  Generator gen(42);
  Tensor x, y;
  const int64_t n = 200, T = 51;
  make_adding(n, T, gen, x, y);
  ASSERT_EQ(x.shape(), (Shape{n, 2, T}));
  ASSERT_EQ(x.dtype(), DType::F32);
  ASSERT_EQ(y.shape(), (Shape{n, 1}));
  ASSERT_EQ(y.dtype(), DType::F32);
  const float* px = x.data<float>();
  const int64_t h = T / 2;
  bool first_half_edges[2] = {false, false};
  for (int64_t s = 0; s < n; ++s) {
    const float* v = px + s * 2 * T;
    const float* m = v + T;
    std::vector<int64_t> marks;
    for (int64_t t = 0; t < T; ++t) {
      ASSERT_GE(v[t], 0.0f);
      ASSERT_LT(v[t], 1.0f);
      ASSERT_TRUE(m[t] == 0.0f || m[t] == 1.0f);
      if (m[t] == 1.0f) marks.push_back(t);
    }
    ASSERT_EQ(marks.size(), 2u) << "sample " << s;
    EXPECT_LT(marks[0], h);
    EXPECT_GE(marks[1], h);
    first_half_edges[0] |= marks[0] == 0;
    first_half_edges[1] |= marks[1] == T - 1;
    EXPECT_EQ(y.at<float>({s, 0}), v[marks[0]] + v[marks[1]]);
  }
  // With 200 samples, both extreme positions get hit (each has prob 1/25 or 1/26 per sample).
  EXPECT_TRUE(first_half_edges[0]);
  EXPECT_TRUE(first_half_edges[1]);
}

TEST(SyntheticAdding, DeterminismAndErrors) {
  Generator a(3), b(3);
  Tensor x1, y1, x2, y2;
  make_adding(5, 20, a, x1, y1);
  make_adding(5, 20, b, x2, y2);
  EXPECT_EQ(x1.to_vector<float>(), x2.to_vector<float>());
  EXPECT_EQ(y1.to_vector<float>(), y2.to_vector<float>());
  make_adding(5, 20, a, x2, y2);
  EXPECT_NE(x1.to_vector<float>(), x2.to_vector<float>());
  Tensor x, y;
  make_adding(3, 2, a, x, y);  // T = 2: markers at 0 and 1
  for (int64_t s = 0; s < 3; ++s) {
    EXPECT_EQ(x.at<float>({s, 1, 0}), 1.0f);
    EXPECT_EQ(x.at<float>({s, 1, 1}), 1.0f);
  }
  EXPECT_THROW(make_adding(1, 1, a, x, y), Error);
  EXPECT_THROW(make_adding(0, 10, a, x, y), Error);
}
