// tests/test_hostile_input.cpp — files are hostile: what seqnet must refuse, quickly and by name.
//
// (The classes of issue #16 done so far: non-regular files, deeply nested JSON, an oracle that
// must not pass a non-finite reference.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>

#include "core/json.h"
#include "core/paths.h"
#include "core/safetensors.h"
#include "train/cli/verify.h"
#include "tests/test_util.h"

namespace seqnet {
namespace {

using ::testing::HasSubstr;
using testing::error_of;
using testing::TempDir;

// A FIFO blocks whoever opens it for reading until a writer appears: every reader must refuse it
// before opening (the test would hang otherwise).
TEST(HostileInput, FifoIsRefusedWithoutBlocking) {
  TempDir dir("fifo");
  const std::string fifo = dir.file("ckpt.safetensors");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THAT(error_of([&] { load_safetensors(fifo); }), HasSubstr("not a regular file"));
  EXPECT_THAT(error_of([&] { check_regular_file(fifo, "text data"); }), HasSubstr("text data"));
  EXPECT_THAT(error_of([&] { check_regular_file(dir.str(), "plot"); }), HasSubstr("is a directory"));
  EXPECT_THAT(error_of([&] { check_regular_file(dir.file("missing"), "plot"); }), HasSubstr("cannot open"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
}

std::string nested(int depth, const std::string& inner) {
  return std::string(size_t(depth), '[') + inner + std::string(size_t(depth), ']');
}

TEST(HostileInput, DeeplyNestedJsonIsRefusedNotRecursedInto) {
  EXPECT_NO_THROW(check_json_nesting(nested(kMaxJsonNesting, "1"), "x"));
  EXPECT_THAT(error_of([] { check_json_nesting(nested(kMaxJsonNesting + 1, "1"), "header"); }),
              HasSubstr("header: JSON nests deeper than 64"));
  // Brackets inside strings do not count, escaped quotes do not end a string.
  EXPECT_NO_THROW(check_json_nesting("{\"a\": \"[[[[[[\\\"]]]]" + std::string(200, '[') + "\"}", "x"));
  // A safetensors header holding a value nested 100 000 levels deep: refused with the file named.
  TempDir dir("deep");
  const std::string path = dir.file("deep.safetensors");
  const std::string header = "{\"w\": {\"dtype\": " + nested(100000, "\"F32\"") + ", \"shape\": [1], \"data_offsets\": [0, 4]}}";
  {
    std::ofstream f(path, std::ios::binary);
    const uint64_t n = header.size();
    f.write(reinterpret_cast<const char*>(&n), 8);
    f << header << std::string(4, '\0');
  }
  const std::string msg = error_of([&] { load_safetensors(path); });
  EXPECT_THAT(msg, HasSubstr("nests deeper"));
  EXPECT_THAT(msg, HasSubstr(path));
  // Offending values are quoted short.
  EXPECT_LT(json_excerpt(nlohmann::json(std::string(100000, 'x'))).size(), 120u);
}

// The oracle must fail when the reference itself holds NaN or inf (NaN passes every |a − b| ≤ tol).
TEST(HostileInput, VerifyFailsOnANonFiniteReference) {
  const std::string dir = refs_dir();
  if (!path_exists(dir + "/tcn_a.params.safetensors")) GTEST_SKIP() << "reference data not found at " << dir;
  SafetensorsFile data = load_safetensors(dir + "/tcn_a.data.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, tensor] : data.tensors) {
    Tensor t = tensor.clone();
    if (name == "output") t.view({-1}).narrow(0, 3, 1).fill_(std::nan(""));
    tensors.emplace_back(name, t);
  }
  TempDir tmp("nanref");
  const std::string bad = tmp.file("tcn_a.data.safetensors");
  save_safetensors(bad, tensors, data.metadata);
  VerifyResult r = verify_reference(dir + "/tcn_a.params.safetensors", bad, VerifyOptions{});
  EXPECT_FALSE(r.passed);
  bool named = false;
  for (const auto& row : r.rows)
    if (row.tensor == "output") named = !row.ok && row.note.find("reference") != std::string::npos;
  EXPECT_TRUE(named) << "the output row must fail and say the reference is non-finite";
}

// Weights with a NaN are refused where they are loaded, naming the tensor (a checkpoint would
// otherwise evaluate to "loss nan" with exit code 0).
TEST(HostileInput, NonFiniteWeightsAreRefusedOnLoad) {
  const std::string dir = refs_dir();
  if (!path_exists(dir + "/tcn_a.params.safetensors")) GTEST_SKIP() << "reference data not found at " << dir;
  SafetensorsFile params = load_safetensors(dir + "/tcn_a.params.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::string poisoned;
  for (const auto& [name, tensor] : params.tensors) {
    Tensor t = tensor.clone();
    if (poisoned.empty() && name.find("weight_v") != std::string::npos) {
      t.view({-1}).narrow(0, 1, 1).fill_(INFINITY);
      poisoned = name;
    }
    tensors.emplace_back(name, t);
  }
  ASSERT_FALSE(poisoned.empty());
  TempDir tmp("nanparams");
  const std::string bad = tmp.file("tcn_a.params.safetensors");
  save_safetensors(bad, tensors, params.metadata);
  const std::string msg = error_of([&] { verify_reference(bad, dir + "/tcn_a.data.safetensors", VerifyOptions{}); });
  EXPECT_THAT(msg, HasSubstr("non-finite"));
  EXPECT_THAT(msg, HasSubstr(poisoned));
}

}  // namespace
}  // namespace seqnet
