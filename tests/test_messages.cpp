// tests/test_messages.cpp — issue #16, "Messages": every error names the file, the field or flag,
// what was found and what is allowed.
//
// One test per case the issue names (a negative level count in a checkpoint config, a string where
// a number belongs, a .mat claiming 10^8 cells, a directory where a file belongs, --threads 100000,
// a 300-digit bound, 1e8 / 1e300 for integer flags), plus the general rule over a table of
// corrupted configuration fields. No test needs ../shared.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <regex>

#include "core/json_fields.h"
#include "core/numbers.h"
#include "core/safetensors.h"
#include "models/registry.h"
#include "train/cli/cli.h"
#include "train/cli/verify.h"
#include "train/data/music_data.h"
#include "train/data/plot.h"
#include "train/data/text_data.h"
#include "train/loop/checkpoint.h"
#include "tests/test_util.h"

namespace seqnet {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::error_of;
using testing::TempDir;
using json = nlohmann::json;

// A checkpoint file holding `config` and `state` (no weights: load_checkpoint reads the metadata only).
std::string write_checkpoint(const TempDir& dir, const std::string& name, const json& config, const json& state,
                             const json& task = json::object()) {
  const std::string path = dir.file(name);
  save_safetensors(path, {{"w", Tensor::zeros({1})}},
                   {{"format", kCheckpointFormat}, {"config", config.dump()}, {"task", task.dump()},
                    {"state", state.dump()}});
  return path;
}

json good_config() {
  TrainConfig c = TrainConfig::defaults("jsb", "tcn");
  c.model_opts.levels = 2, c.model_opts.nhid = 8;
  return to_json(c);
}

json good_state() {
  return {{"epoch", 1},      {"global_step", 10},       {"lr", 0.01},   {"rng_seed", 1},
          {"rng_offset", 0}, {"best_epoch", 1},         {"best_valid", 1.5},
          {"valid_history", json::array({1.5})},        {"history", json::array()}, {"optim", "adam"}};
}

// True when `msg` holds a run of at least 20 digits (a bound printed in full).
bool has_long_number(const std::string& msg) { return std::regex_search(msg, std::regex("[0-9]{20,}")); }

// ---- checkpoints -------------------------------------------------------------------------------

// Was: "cannot create std::vector larger than max_size()" when the model was built.
TEST(Messages, NegativeLevelCountInACheckpointConfig) {
  TempDir dir("msg_levels");
  json cfg = good_config();
  cfg["model_options"]["levels"] = -3;
  const std::string path = write_checkpoint(dir, "neg.safetensors", cfg, good_state());
  const std::string msg = error_of([&] { load_checkpoint(path); });
  EXPECT_THAT(msg, AllOf(HasSubstr(path), HasSubstr("'config'"), HasSubstr("'model_options.levels'"),
                         HasSubstr("from 1 to 32"), HasSubstr("found -3")));
}

// Was: "[json.exception.type_error.302] type must be number, but is string".
TEST(Messages, StringWhereANumberBelongsInACheckpoint) {
  TempDir dir("msg_string");
  json state = good_state();
  state["epoch"] = "three";
  const std::string path = write_checkpoint(dir, "s.safetensors", good_config(), state);
  EXPECT_THAT(error_of([&] { load_checkpoint(path); }),
              AllOf(HasSubstr(path), HasSubstr("'state'"), HasSubstr("'epoch'"), HasSubstr("\"three\" (a string)"),
                    HasSubstr("whole number")));
  json cfg = good_config();
  cfg["lr"] = "0.01";
  const std::string path2 = write_checkpoint(dir, "c.safetensors", cfg, good_state());
  EXPECT_THAT(error_of([&] { load_checkpoint(path2); }),
              AllOf(HasSubstr(path2), HasSubstr("field 'lr'"), HasSubstr("\"0.01\" (a string)")));
}

// The general rule over a table: each corrupted field of a checkpoint's config, state or task is
// refused with the file, the field and the value found.
TEST(Messages, EveryCorruptedCheckpointFieldIsNamed) {
  struct Case {
    const char* part;        // "config", "state" or "task"
    json::json_pointer ptr;  // the field to corrupt
    json value;
    const char* field;       // as the message must name it
    const char* found;       // an excerpt of the value
  };
  const std::vector<Case> cases = {
      {"config", json::json_pointer("/task"), "jsbx", "'task'", "\"jsbx\""},
      {"config", json::json_pointer("/model"), "wavenet", "'model'", "\"wavenet\""},
      {"config", json::json_pointer("/model_options/nhid"), 0, "'model_options.nhid'", "found 0"},
      {"config", json::json_pointer("/model_options/nhid"), 1e30, "'model_options.nhid'", "1e+30"},
      {"config", json::json_pointer("/model_options/ksize"), 2.5, "'model_options.ksize'", "2.5"},
      {"config", json::json_pointer("/model_options/dropout"), 1.0, "'model_options.dropout'", "1.0"},
      {"config", json::json_pointer("/model_options/tied"), "yes", "'model_options.tied'", "\"yes\""},
      {"config", json::json_pointer("/model_options"), json::array({1}), "'model_options'", "[1]"},
      {"config", json::json_pointer("/epochs"), -1, "'epochs'", "found -1"},
      {"config", json::json_pointer("/batch_size"), uint64_t(1) << 63, "'batch_size'", "9223372036854775808"},
      {"config", json::json_pointer("/seed"), -5, "'seed'", "found -5"},
      {"config", json::json_pointer("/optim"), "rmsprop", "'optim'", "\"rmsprop\""},
      {"config", json::json_pointer("/momentum"), 1.5, "'momentum'", "1.5"},
      {"config", json::json_pointer("/out_dir"), 7, "'out_dir'", "7"},
      {"state", json::json_pointer("/global_step"), json::array(), "'global_step'", "[]"},
      {"state", json::json_pointer("/rng_seed"), -1, "'rng_seed'", "found -1"},
      {"state", json::json_pointer("/lr"), -0.5, "'lr'", "-0.5"},
      {"state", json::json_pointer("/valid_history/0"), "x", "'valid_history[0]'", "\"x\""},
      {"state", json::json_pointer("/history"), 3, "'history'", "3"},
      {"state", json::json_pointer("/optim"), 1, "'optim'", "1"},
      {"task", json::json_pointer("/vocab"), json::array({"a", 2}), "'vocab[1]'", "2"},
  };
  TempDir dir("msg_table");
  int i = 0;
  for (const Case& c : cases) {
    json cfg = good_config(), state = good_state(), task = json::object();
    json& target = std::string(c.part) == "config" ? cfg : std::string(c.part) == "state" ? state : task;
    target[c.ptr] = c.value;
    const std::string path = write_checkpoint(dir, fmt::format("case{}.safetensors", i++), cfg, state, task);
    const std::string msg = error_of([&] { load_checkpoint(path); });
    EXPECT_THAT(msg, AllOf(HasSubstr(path), HasSubstr(fmt::format("'{}'", c.part)), HasSubstr(c.field),
                           HasSubstr(c.found), HasSubstr("must be")))
        << c.part << " " << c.ptr.to_string();
    EXPECT_FALSE(has_long_number(msg) && std::string(c.found).size() < 20) << msg;
  }
}

// Fields that are fine one by one but not together: validate() names the flag, the file is named too.
TEST(Messages, InconsistentCheckpointConfigNamesTheFile) {
  TempDir dir("msg_incons");
  TrainConfig c = TrainConfig::defaults("char", "tcn");
  json cfg = to_json(c);
  cfg["validseqlen"] = c.seq_len + 1;
  const std::string path = write_checkpoint(dir, "i.safetensors", cfg, good_state());
  EXPECT_THAT(error_of([&] { load_checkpoint(path); }),
              AllOf(HasSubstr(path), HasSubstr("inconsistent"), HasSubstr("validseqlen")));
}

// ---- verify reference files ---------------------------------------------------------------------

// A reference file pair for verify: P holds the model's weights and `config`, D `data` tensors and
// `meta` strings.
void write_verify_pair(const std::string& p, const std::string& d, const std::string& config,
                       std::map<std::string, std::string> meta) {
  Generator gen(0);
  BuiltModel built = build_from_config(config, gen);
  save_safetensors(p, built.model->params().state_dict(), {{"config", config}});
  save_safetensors(d, {{"step_outputs", Tensor::zeros({1, 1, 8})}}, meta);
}

// Was: a bare "stoll" (std::invalid_argument, not even a seqnet::Error).
TEST(Messages, VerifyMetadataNumberThatIsNotANumber) {
  TempDir dir("msg_verify");
  const std::string config = R"({"class": "raw_audio/wavenet_model.WaveNetModel", "layers": 2, "blocks": 1,
      "dilation_channels": 4, "residual_channels": 4, "skip_channels": 4, "classes": 8, "output_length": 2,
      "kernel_size": 2})";
  const std::string p = dir.file("w.params.safetensors"), d = dir.file("w.data.safetensors");
  write_verify_pair(p, d, config, {{"input_size", "abc"}});
  EXPECT_THAT(error_of([&] { verify_reference(p, d, VerifyOptions{}); }),
              AllOf(HasSubstr(d), HasSubstr("'input_size'"), HasSubstr("found 'abc'"), HasSubstr("not a number"),
                    HasSubstr("from 1 to 2^24")));
  write_verify_pair(p, d, config, {{"input_size", "99999999999999999999999"}});
  EXPECT_THAT(error_of([&] { verify_reference(p, d, VerifyOptions{}); }),
              AllOf(HasSubstr("'input_size'"), HasSubstr("99999999999999999999999"), HasSubstr("2^24")));
}

// Was: "model config of tcn.TemporalConvNet: field 'num_inputs' has the wrong type
// ([json.exception.type_error.302] type must be number, but is string)" — no file.
TEST(Messages, VerifyModelConfigFieldsNameTheFile) {
  TempDir dir("msg_vcfg");
  const std::string p = dir.file("t.params.safetensors"), d = dir.file("t.data.safetensors");
  save_safetensors(d, {{"input", Tensor::zeros({1})}});
  struct Case {
    const char* config;
    const char* field;
    const char* found;
  };
  const std::vector<Case> cases = {
      {R"({"class": "tcn.TemporalConvNet", "num_inputs": "5", "num_channels": [4]})", "'num_inputs'", "\"5\""},
      {R"({"class": "tcn.TemporalConvNet", "num_inputs": 5, "num_channels": [4, -4]})", "'num_channels[1]'", "-4"},
      {R"({"class": "tcn.TemporalConvNet", "num_inputs": 5, "num_channels": 4})", "'num_channels'", "4"},
      {R"({"class": "sequnet_res.Sequnet", "num_inputs": 5, "num_channels": 4, "num_levels": -2,
          "num_outputs": 3})", "'num_levels'", "-2"},
      {R"({"wrapper": "char_cnn/model.TCN", "model": "tcn", "n_characters": 1e300, "emsize": 4,
          "num_channels": [4]})", "'n_characters'", "1e+300"},
      {R"({"class": "tcn.TemporalConvNett"})", "'class'", "\"tcn.TemporalConvNett\""},
  };
  for (const Case& c : cases) {
    save_safetensors(p, {{"w", Tensor::zeros({1})}}, {{"config", c.config}});
    const std::string msg = error_of([&] { verify_reference(p, d, VerifyOptions{}); });
    EXPECT_THAT(msg, AllOf(HasSubstr(p), HasSubstr("'config'"), HasSubstr(c.field), HasSubstr(c.found),
                           HasSubstr("must be")))
        << c.config;
  }
}

// ---- .mat files ----------------------------------------------------------------------------------

// A hand-written level-5 MAT-file (uncompressed): traindata, validdata, testdata cell arrays of
// (rows x 88) double matrices, where a cell array can claim more cells, and a matrix more rows,
// than it holds.
class MatWriter {
 public:
  static std::string file(const std::string& train, const std::string& valid, const std::string& test) {
    std::string head = "MATLAB 5.0 MAT-file, written by seqnet tests";
    head.resize(116, ' ');
    head.append(8, '\0');
    head += std::string("\x00\x01", 2) + "IM";
    return head + train + valid + test;
  }
  static std::string cell(const std::string& name, const std::vector<std::string>& cells, int32_t claimed = -1) {
    std::string body;
    for (const auto& c : cells) body += c;
    return matrix(1, {1, claimed >= 0 ? claimed : int32_t(cells.size())}, name, body);
  }
  static std::string roll(int32_t rows, int32_t claimed_rows = -1) {
    std::string data(size_t(rows) * 88 * 8, '\0');
    return matrix(6, {claimed_rows >= 0 ? claimed_rows : rows, 88}, "", element(9, data));
  }

 private:
  static std::string u32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
  static std::string element(uint32_t type, std::string data) {
    const uint32_t n = uint32_t(data.size());
    data.resize((data.size() + 7) / 8 * 8, '\0');
    return u32(type) + u32(n) + data;
  }
  static std::string matrix(uint32_t cls, std::vector<int32_t> dims, const std::string& name, const std::string& body) {
    std::string d;
    for (int32_t v : dims) d += u32(uint32_t(v));
    const std::string content = element(6, u32(cls) + u32(0)) + element(5, d) + element(1, name) + body;
    return u32(14) + u32(uint32_t(content.size())) + content;
  }
};

// Was: std::bad_alloc (or matio reading far past the end of the file).
TEST(Messages, MatFileClaimingTooManyCells) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  TempDir dir("msg_mat");
  const std::string ok_split = MatWriter::cell("validdata", {MatWriter::roll(3)});
  const std::string test_split = MatWriter::cell("testdata", {MatWriter::roll(3)});
  const std::string path = dir.file("cells.mat");
  std::ofstream(path, std::ios::binary)
      << MatWriter::file(MatWriter::cell("traindata", {MatWriter::roll(3)}, 100000000), ok_split, test_split);
  EXPECT_THAT(error_of([&] { load_music_mat(path); }),
              AllOf(HasSubstr(path), HasSubstr("traindata"), HasSubstr("100000000")));

  const std::string rows = dir.file("rows.mat");
  std::ofstream(rows, std::ios::binary)
      << MatWriter::file(MatWriter::cell("traindata", {MatWriter::roll(3, 100000000)}), ok_split, test_split);
  EXPECT_THAT(error_of([&] { load_music_mat(rows); }),
              AllOf(HasSubstr(rows), HasSubstr("traindata"), HasSubstr("100000000")));

  // the writer itself is sound: the same file with honest sizes loads
  const std::string good = dir.file("good.mat");
  std::ofstream(good, std::ios::binary)
      << MatWriter::file(MatWriter::cell("traindata", {MatWriter::roll(3)}), ok_split, test_split);
  EXPECT_EQ(load_music_mat(good).train.size(), 1u);
}

// ---- paths -----------------------------------------------------------------------------------------

// Was (text data, before check_regular_file): "'…' is empty" for a directory.
TEST(Messages, DirectoryWhereAFileBelongs) {
  TempDir dir("msg_dir");
  const std::string d = dir.file("sub.safetensors");
  std::filesystem::create_directories(d);
  auto is_dir = [&](const std::string& msg) {
    EXPECT_THAT(msg, AllOf(HasSubstr(d), HasSubstr("is a directory")));
  };
  is_dir(error_of([&] { load_safetensors(d); }));
  is_dir(error_of([&] { load_checkpoint(d); }));
  is_dir(error_of([&] { verify_reference(d, d, VerifyOptions{}); }));
  is_dir(error_of([&] { write_loss_plot(d, dir.file("x.svg"), "t"); }));
  if (testing::kHaveWavMat) is_dir(error_of([&] { load_music_mat(d); }));
  // text data: a split that is a directory
  const std::string ptb = dir.file("ptb");
  std::filesystem::create_directories(ptb + "/train.txt");
  EXPECT_THAT(error_of([&] { load_ptb_words(ptb); }), AllOf(HasSubstr("train.txt"), HasSubstr("is a directory")));
}

// ---- the command line --------------------------------------------------------------------------------

// Runs seqnet with `args`; (exit code, stdout + stderr).
std::pair<int, std::string> run(std::vector<const char*> args) {
  args.insert(args.begin(), "seqnet");
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  const int rc = run_cli(int(args.size()), args.data());
  const std::string out = ::testing::internal::GetCapturedStderr() + ::testing::internal::GetCapturedStdout();
  return {rc, out};
}

// Was: --threads 100000 passed the flag's check and failed later with "SEQNET_THREADS must be a
// positive integer, got '100000'".
TEST(Messages, ThreadsOutOfRange) {
  auto [rc, out] = run({"--threads", "100000", "info"});
  EXPECT_NE(rc, 0);
  EXPECT_THAT(out, AllOf(HasSubstr("--threads"), HasSubstr("from 1 to 1024"), HasSubstr("found '100000'")));
  EXPECT_THAT(out, Not(HasSubstr("positive integer")));
  EXPECT_THAT(error_of([] { parse_int("100000", "SEQNET_THREADS", 1, 1024); }),
              AllOf(HasSubstr("SEQNET_THREADS"), HasSubstr("from 1 to 1024"), HasSubstr("'100000'")));
}

// Was: "Value -1 not in range 0.000000 to 179769313486231570814527423731704356798070567525844996598917476803
// 157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910
// 576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144
// 723168738177180919299881250404026184124858368.000000".
TEST(Messages, FlagRangesAreWrittenReadably) {
  struct Case {
    std::vector<const char*> args;
    const char* flag;
    const char* allowed;
    const char* found;
  };
  const std::vector<Case> cases = {
      {{"generate", "--checkpoint", "x", "--out", "y", "--temperature", "-1"}, "--temperature", ">= 0", "'-1'"},
      {{"generate", "--checkpoint", "x", "--out", "y", "--samples", "1e300"}, "--samples", "from 1 to 2^31",
       "'1e300'"},
      {{"generate", "--checkpoint", "x", "--out", "y", "--samples", "2.5"}, "--samples", "whole number",
       "not a whole number"},
      {{"generate", "--checkpoint", "x", "--out", "y", "--seed", "1e300"}, "--seed", "from 0 to 2^64 - 1",
       "'1e300'"},
      {{"generate", "--checkpoint", "x", "--out", "y", "--batch", "100000"}, "--batch", "from 1 to 256",
       "'100000'"},
      {{"train", "--task", "copy", "--model", "tcn", "--epochs", "1e300"}, "--epochs", "from 1 to 2^62", "'1e300'"},
      {{"train", "--task", "copy", "--model", "tcn", "--levels", "-3"}, "--levels", "from 1 to 32", "'-3'"},
      {{"train", "--task", "copy", "--model", "tcn", "--nhid", "abc"}, "--nhid", "from 1 to 2^16", "not a number"},
      {{"train", "--task", "copy", "--model", "tcn", "--lr", "1e400"}, "--lr", "positive finite number", "'1e400'"},
      {{"train", "--task", "jsb", "--model", "tcn", "--dropout", "1.5"}, "--dropout", "[0, 1)", "'1.5'"},
      {{"eval", "--checkpoint", "x", "--max-eval-batches", "-1"}, "--max-eval-batches", "from 0 to 2^62", "'-1'"},
  };
  for (const Case& c : cases) {
    auto [rc, out] = run(c.args);
    EXPECT_NE(rc, 0);
    EXPECT_THAT(out, AllOf(HasSubstr(c.flag), HasSubstr(c.allowed), HasSubstr(c.found))) << c.flag;
    EXPECT_FALSE(has_long_number(out)) << out;
  }
}

// 1e8 for an integer flag is the whole number it writes: accepted (and range-checked).
TEST(Messages, IntegerFlagsAcceptExactScientificNotation) {
  auto [rc, out] = run({"info", "--task", "copy", "--model", "tcn", "--nhid", "1.6e1", "--levels", "2"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("[16] x 2"));
}

// ---- the helpers ----------------------------------------------------------------------------------------

TEST(Messages, NumbersAreReadAndWrittenReadably) {
  EXPECT_EQ(readable_int(int64_t(1) << 62), "2^62");
  EXPECT_EQ(readable_int(INT64_MAX), "2^63 - 1");
  EXPECT_EQ(readable_int(INT64_MIN), "-2^63");
  EXPECT_EQ(readable_int(1024), "1024");  // small powers of two stay decimal
  EXPECT_EQ(readable_uint(UINT64_MAX), "2^64 - 1");
  EXPECT_EQ(int_range_str(0, INT64_MAX), "at least 0");
  int64_t v = 0;
  EXPECT_EQ(whole_number_problem("1e8", 1, INT64_MAX, v), "");
  EXPECT_EQ(v, 100000000);
  EXPECT_EQ(whole_number_problem("-12", -20, 0, v), "");
  EXPECT_EQ(v, -12);
  EXPECT_EQ(whole_number_problem("1e300", 1, INT64_MAX, v), "out of range");
  EXPECT_EQ(whole_number_problem("9223372036854775808", 1, INT64_MAX, v), "out of range");
  EXPECT_EQ(whole_number_problem("2.5", 1, 10, v), "not a whole number");
  EXPECT_EQ(whole_number_problem(" 5", 1, 10, v), "not a number");
  EXPECT_EQ(whole_number_problem("inf", 1, 10, v), "not a number");
  EXPECT_EQ(whole_number_problem("0x10", 1, 100, v), "not a number");
  EXPECT_EQ(whole_number_problem("", 1, 10, v), "not a number");
  uint64_t u = 0;
  EXPECT_EQ(whole_number_problem("18446744073709551615", uint64_t(0), UINT64_MAX, u), "");
  EXPECT_EQ(u, UINT64_MAX);
  EXPECT_EQ(whole_number_problem("-1", uint64_t(0), UINT64_MAX, u), "out of range");
  double d = 0;
  EXPECT_EQ(real_number_problem("1e400", 0, 1e308, d), "out of range");
  EXPECT_EQ(real_number_problem("nan", 0, 1, d), "not a number");
  EXPECT_EQ(real_number_problem("0.25", 0, 1, d), "");
  EXPECT_EQ(d, 0.25);
  const std::string long_text(500, '7');
  EXPECT_THAT(error_of([&] { parse_int(long_text, "SEQNET_X", 1, 10); }),
              AllOf(HasSubstr("SEQNET_X"), HasSubstr("(500 characters)"), Not(HasSubstr(long_text.substr(0, 60)))));
}

TEST(Messages, JsonFieldsNameDocumentPathFoundAndAllowed) {
  const json j = json::parse(R"({"a": {"b": [1, "x"]}, "n": null, "s": "str"})");
  const JsonFields r(j, "f.json: config");
  EXPECT_FALSE(r.has("n"));
  EXPECT_FALSE(r.has("zz"));
  EXPECT_EQ(error_of([&] { r.object("a").integers("b", 0, 5, 10); }),
            "f.json: config: field 'a.b[1]' must be a whole number from 0 to 5; found \"x\" (a string)");
  EXPECT_EQ(error_of([&] { r.integer("zz", 0, 5); }), "f.json: config: field 'zz' is missing");
  EXPECT_EQ(error_of([&] { r.number("s", 0.0, 1.0); }),
            "f.json: config: field 's' must be a number from 0 to 1; found \"str\" (a string)");
  EXPECT_EQ(error_of([&] { JsonFields(json::array(), "g.json"); }), "g.json: must be a JSON object; found [] (an array)");
}

}  // namespace
}  // namespace seqnet
