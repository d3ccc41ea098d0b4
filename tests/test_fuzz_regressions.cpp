// tests/test_fuzz_regressions.cpp — one test per bug the fuzz gate (tests/fuzz, issue #16) found in
// a file reader: the input class it found, rebuilt by hand, and the clean refusal now expected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#if SEQNET_HAVE_WAV_MAT
#include <matio.h>
#endif

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "tests/test_util.h"
#include "train/data/music_data.h"
#include "train/loop/checkpoint.h"
#include "train/loop/trainer.h"
#include "train/tasks/task_model.h"

namespace seqnet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::error_of;
using testing::TempDir;

constexpr size_t kMaxMessage = 2000;  // the fuzz driver's bound on a refusal's length

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A safetensors file whose header is `header` verbatim (no data section).
void write_raw_safetensors(const std::string& path, const std::string& header) {
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  write_bytes(path, bytes + header);
}

// ---- safetensors: messages quoted unbounded file content ------------------------------------------

// Before: the refusal quoted the whole key, name or token (a 70 000-character name gave a message of
// 70 000 characters). After: every quoted piece of the file is cut to a short excerpt.
TEST(FuzzRegressions, SafetensorsMessagesQuoteShortExcerpts) {
  TempDir d("fuzzreg");
  const std::string path = d.file("long.safetensors");
  const std::string huge(70000, 'w');
  const std::string headers[] = {
      // an unknown field with a huge name
      "{\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0],\"" + huge + "\":1}}",
      // a huge tensor name with a bad entry
      "{\"" + huge + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,0]}}",
      // a syntax error right after a huge token: nlohmann's message quotes the token it last read
      "{\"t" + huge + std::string(1, '\x01') + "\":1}",
      // a huge dtype
      "{\"t\":{\"dtype\":\"" + huge + "\",\"shape\":[0],\"data_offsets\":[0,0]}}",
  };
  for (const std::string& h : headers) {
    write_raw_safetensors(path, h);
    const std::string msg = error_of([&] { load_safetensors(path); });
    EXPECT_THAT(msg, HasSubstr(path));
    EXPECT_LT(msg.size(), kMaxMessage) << msg.substr(0, 300);
    EXPECT_THAT(msg, HasSubstr("characters)"));  // says how long the cut piece was
  }
}

}  // namespace
}  // namespace seqnet
