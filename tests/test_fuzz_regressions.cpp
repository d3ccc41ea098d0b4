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

// Before: a file holding an f32 [0, 0] tensor (a shape edited from [0, 3]) loaded as a tensor that
// said it was not contiguous: Tensor::empty gives a [2, 0] or [0, 0] shape strides [1, 1], which
// is_contiguous() rejected. After: a tensor without elements is contiguous whatever its strides.
TEST(FuzzRegressions, EmptyTensorsFromAFileAreContiguous) {
  TempDir d("fuzzreg");
  const std::string path = d.file("empty.safetensors");
  save_safetensors(path, {{"a", Tensor::empty({0, 0})}, {"b", Tensor::empty({2, 0, 3})}});
  const SafetensorsFile f = load_safetensors(path);
  for (const auto& [name, t] : f.tensors) {
    EXPECT_TRUE(t.is_contiguous()) << name;
    EXPECT_EQ(t.numel(), 0) << name;
  }
  EXPECT_TRUE(Tensor::empty({2, 0}).is_contiguous());
}

// ---- checkpoints: metadata taken on trust -------------------------------------------------------------

// A checkpoint of a tiny copy-memory TCN, and a way to rewrite its metadata as a damaged file would.
class FuzzCheckpoint : public ::testing::Test {
 protected:
  TempDir dir_{"fuzzck"};
  std::string good_ = dir_.file("good.safetensors");

  void SetUp() override {
    TrainConfig c = TrainConfig::defaults("copy", "tcn");
    c.model_opts.nhid = 2, c.model_opts.levels = 2, c.model_opts.ksize = 2;
    Generator g(3);
    TaskModel tm = build_task_model(c.task, c.model, c.model_opts, g);
    TrainState st;
    st.lr = c.lr, st.epoch = 1, st.global_step = 4, st.best_epoch = 1, st.best_valid = 2.5;
    st.valid_history = {2.5};
    save_checkpoint(good_, c, nlohmann::json::object(), *tm.model, nullptr, st);
  }

  // The checkpoint with metadata `key` (a JSON text) changed by `edit`, as a new file.
  template <typename F>
  std::string edited(const std::string& key, F&& edit) {
    SafetensorsFile f = load_safetensors(good_);
    nlohmann::json j = nlohmann::json::parse(f.metadata.at(key));
    edit(j);
    f.metadata[key] = j.dump();
    const std::string path = dir_.file(key + "_edited.safetensors");
    save_safetensors(path, f.tensors, f.metadata);
    return path;
  }
  // The same with the metadata string replaced verbatim.
  std::string with_metadata(const std::string& key, const std::string& value) {
    SafetensorsFile f = load_safetensors(good_);
    f.metadata[key] = value;
    const std::string path = dir_.file(key + "_raw.safetensors");
    save_safetensors(path, f.tensors, f.metadata);
    return path;
  }
};

TEST_F(FuzzCheckpoint, TheUneditedCheckpointLoads) {
  const Checkpoint ck = load_checkpoint(good_);
  EXPECT_NO_THROW(load_model(ck));
}

// Before: load_checkpoint accepted levels = -1 and load_model let std::length_error escape (a vector
// of 2^64 channels); levels = 0 the same. After: refused when the checkpoint is read, naming the field.
TEST_F(FuzzCheckpoint, NonPositiveModelSizesAreRefused) {
  for (const char* key : {"levels", "nhid", "ksize"})
    for (int v : {-1, 0}) {
      const std::string p = edited("config", [&](nlohmann::json& j) { j["model_options"][key] = v; });
      const std::string msg = error_of([&] { load_model(load_checkpoint(p)); });
      EXPECT_THAT(msg, HasSubstr(p)) << key << " " << v;
      EXPECT_THAT(msg, HasSubstr(fmt::format("field 'model_options.{}' must be a whole number from 1 to", key)));
      EXPECT_THAT(msg, HasSubstr(fmt::format("found {}", v)));
    }
}

// Before: a float where an integer belongs was truncated by nlohmann (1e300 → undefined behaviour,
// seen as INT64_MIN; 2.5 → 2) and a negative seed wrapped. After: refused by name.
TEST_F(FuzzCheckpoint, IntegerFieldsMustBeIntegers) {
  const std::string p1 = edited("config", [](nlohmann::json& j) { j["batch_size"] = -1e300; });
  EXPECT_THAT(error_of([&] { load_checkpoint(p1); }), HasSubstr("field 'batch_size' must be a whole number from 1 to 2^20; found -1e+300"));
  const std::string p2 = edited("config", [](nlohmann::json& j) { j["model_options"]["nhid"] = 2.5; });
  EXPECT_THAT(error_of([&] { load_checkpoint(p2); }), HasSubstr("field 'model_options.nhid' must be a whole number from 1 to 2^16; found 2.5"));
  const std::string p3 = edited("config", [](nlohmann::json& j) { j["seed"] = -1; });
  EXPECT_THAT(error_of([&] { load_checkpoint(p3); }), HasSubstr("field 'seed' must be a whole number from 0 to 2^64 - 1; found -1"));
  const std::string p4 = edited("state", [](nlohmann::json& j) { j["epoch"] = 1e300; });
  EXPECT_THAT(error_of([&] { load_checkpoint(p4); }), HasSubstr("field 'epoch' must be a whole number from 0 to 2^62; found 1e+300"));
}

// Before: accepted, and --resume would have trained with a negative learning rate from a negative
// step count. After: the state a run continues from is range-checked.
TEST_F(FuzzCheckpoint, ImpossibleTrainingStatesAreRefused) {
  const std::pair<const char*, nlohmann::json> cases[] = {
      {"lr", -9.2e18}, {"lr", 0}, {"global_step", -5}, {"epoch", -1}, {"best_epoch", 7}, {"best_valid", "x"}};
  for (const auto& [key, value] : cases) {
    const std::string p = edited("state", [&](nlohmann::json& j) { j[key] = value; });
    const std::string msg = error_of([&] { load_checkpoint(p); });
    EXPECT_THAT(msg, HasSubstr(fmt::format("checkpoint metadata 'state': field '{}'", key))) << key << " " << value;
    EXPECT_THAT(msg, HasSubstr(p));
  }
  const std::string p = edited("state", [](nlohmann::json& j) { j["valid_history"] = {1.0, 1e308 * 10}; });
  EXPECT_THAT(error_of([&] { load_checkpoint(p); }), Not(HasSubstr("<no error>")));
}

// Before: a configuration the command line would refuse (log_interval -5, n_train -1e300, optim
// 'ségd') was accepted from a checkpoint. After: load_checkpoint validates it like --resume does.
TEST_F(FuzzCheckpoint, InvalidConfigurationsAreRefused) {
  const std::string p1 = edited("config", [](nlohmann::json& j) { j["log_interval"] = -5; });
  EXPECT_THAT(error_of([&] { load_checkpoint(p1); }),
              HasSubstr("checkpoint metadata 'config': field 'log_interval' must be a whole number from 1 to 2^62; found -5"));
  const std::string p2 = edited("config", [](nlohmann::json& j) { j["optim"] = "s\u00e9gd" + std::string(5000, 'g'); });
  const std::string msg = error_of([&] { load_checkpoint(p2); });
  EXPECT_THAT(msg, HasSubstr("field 'optim' must be one of adam, sgd; found"));
  EXPECT_LT(msg.size(), kMaxMessage);
}

// Before: an unsupported format string or task name was quoted whole (70 000 characters).
TEST_F(FuzzCheckpoint, LongMetadataStringsAreCutInMessages) {
  const std::string p1 = with_metadata("format", std::string(70000, 'f'));
  const std::string m1 = error_of([&] { load_checkpoint(p1); });
  EXPECT_THAT(m1, HasSubstr("unsupported checkpoint format"));
  EXPECT_LT(m1.size(), kMaxMessage);
  const std::string p2 = edited("config", [](nlohmann::json& j) { j["task"] = std::string(70000, 't'); });
  const std::string m2 = error_of([&] { load_checkpoint(p2); });
  EXPECT_THAT(m2, HasSubstr("field 'task' must be one of copy, adding"));
  EXPECT_LT(m2.size(), kMaxMessage);
}

// Before: a config asking for 50 levels against weights of 2 listed all 576 missing keys (18 000
// characters). After: the first few of each list and a count (30 levels: 28 × 12 = 336 keys).
TEST_F(FuzzCheckpoint, LongKeyListsAreShortened) {
  const std::string p = edited("config", [](nlohmann::json& j) { j["model_options"]["levels"] = 30; });
  const std::string msg = error_of([&] { load_model(load_checkpoint(p)); });
  EXPECT_THAT(msg, HasSubstr("missing keys (336)"));
  EXPECT_THAT(msg, HasSubstr("(328 more)"));
  EXPECT_LT(msg.size(), kMaxMessage);
}

// ---- MAT-files: sizes inside the file taken on trust by matio ----------------------------------------

#if SEQNET_HAVE_WAV_MAT
// A MAT 5 file with the three split variables, each a 1 x 1 cell holding a 2 x 88 piano roll.
void write_small_mat(const std::string& path, matio_compression compression) {
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  ASSERT_NE(mat, nullptr);
  for (const char* name : {"traindata", "validdata", "testdata"}) {
    size_t cdims[2] = {1, 1};
    matvar_t* cell = Mat_VarCreate(name, MAT_C_CELL, MAT_T_CELL, 2, cdims, nullptr, 0);
    std::vector<uint8_t> v(2 * kPianoKeys, 0);
    v[3] = 1;
    size_t dims[2] = {2, size_t(kPianoKeys)};
    Mat_VarSetCell(cell, 0, Mat_VarCreate(nullptr, MAT_C_UINT8, MAT_T_UINT8, 2, dims, v.data(), 0));
    Mat_VarWrite(mat, cell, compression);
    Mat_VarFree(cell);
  }
  Mat_Close(mat);
}
#endif

// Before: a 2.6 KB file whose first cell array claimed 2^31 - 1 cells kept matio busy for minutes
// (the fuzz watchdog's hang). After: refused at once, naming the element and the claim.
TEST(FuzzRegressions, MatCellCountBeyondTheFileIsRefused) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
#if SEQNET_HAVE_WAV_MAT
  TempDir d("fuzzreg");
  const std::string path = d.file("cells.mat");
  write_small_mat(path, MAT_COMPRESSION_NONE);
  EXPECT_NO_THROW(load_music_mat(path));
  std::string bytes = testing::read_file(path);
  // 128-byte header, miMATRIX tag (8), array flags (16), dimensions tag (8): dims[1] at 164.
  uint32_t dims1 = 0;
  std::memcpy(&dims1, bytes.data() + 164, 4);
  ASSERT_EQ(dims1, 1u);
  const uint32_t huge = 0x7FFFFFFF;
  std::memcpy(bytes.data() + 164, &huge, 4);
  write_bytes(path, bytes);
  const std::string msg = error_of([&] { load_music_mat(path); });
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("claims 2147483647 cells"));
#endif
}

// A compressed variable whose zlib stream is damaged (the fuzzer's first hang came through one):
// refused as not inflating, instead of matio reading whatever the damaged stream produced.
TEST(FuzzRegressions, MatDamagedCompressedStreamIsRefused) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
#if SEQNET_HAVE_WAV_MAT
  TempDir d("fuzzreg");
  const std::string path = d.file("z.mat");
  write_small_mat(path, MAT_COMPRESSION_ZLIB);
  EXPECT_NO_THROW(load_music_mat(path));
  std::string bytes = testing::read_file(path);
  ASSERT_EQ(bytes[128], 15);  // miCOMPRESSED
  for (size_t i = 140; i < 150; ++i) bytes[i] = char(0xFF);  // inside the first stream, past its 2-byte zlib header
  write_bytes(path, bytes);
  const std::string msg = error_of([&] { load_music_mat(path); });
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("does not inflate completely"));
#endif
}

// The numbers of a numeric cell must match its dimensions (matio would allocate for the dimensions
// and read what the file has).
TEST(FuzzRegressions, MatDataShorterThanItsDimensionsIsRefused) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
#if SEQNET_HAVE_WAV_MAT
  TempDir d("fuzzreg");
  const std::string path = d.file("rows.mat");
  write_small_mat(path, MAT_COMPRESSION_NONE);
  std::string bytes = testing::read_file(path);
  // Find the inner matrix's dimensions [2, 88] and claim 1000 rows instead.
  const char needle[] = {2, 0, 0, 0, 88, 0, 0, 0};
  const size_t at = bytes.find(std::string(needle, 8));
  ASSERT_NE(at, std::string::npos);
  const uint32_t rows = 1000;
  std::memcpy(bytes.data() + at, &rows, 4);
  write_bytes(path, bytes);
  const std::string msg = error_of([&] { load_music_mat(path); });
  EXPECT_THAT(msg, HasSubstr("variable 'traindata'{0} (real part) holds 176 bytes, its dimensions (1000 x 88) need 88000"));
#endif
}

}  // namespace
}  // namespace seqnet
