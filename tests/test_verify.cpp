// `seqnet verify` on every (params, data) pair of the PyTorch reference files, in f32 and f64,
// and the parameter counts of every task model of MODELS.md §11.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/paths.h"
#include "core/safetensors.h"
#include "models/registry.h"
#include "train/tasks/task_model.h"
#include "train/cli/verify.h"

using namespace seqnet;

namespace {

class VerifyRefs : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(VerifyRefs, MatchesPyTorch) {
  const auto& [tag, dtype] = GetParam();
  const std::string dir = refs_dir();
  const std::string params = dir + "/" + tag + ".params.safetensors", data = dir + "/" + tag + ".data.safetensors";
  if (!path_exists(params) || !path_exists(data))
    GTEST_SKIP() << "reference data not found at " << dir << " (set SEQNET_REFS)";
  VerifyOptions opt;
  opt.dtype = dtype;
  VerifyResult r = verify_reference(params, data, opt);
  ASSERT_FALSE(r.not_applicable) << r.message;
  EXPECT_GE(r.rows.size(), 3u);
  for (const auto& row : r.rows)
    EXPECT_TRUE(row.ok) << tag << " " << dtype_name(dtype) << ": " << row.tensor << " max abs " << row.max_abs
                        << " max rel " << row.max_rel << " err/tol " << row.worst << " " << row.note;
  if (!r.passed) print_verify(stderr, r, opt);
}

INSTANTIATE_TEST_SUITE_P(
    AllPairs, VerifyRefs,
    ::testing::Combine(::testing::Values("tcn_a", "tcn_b", "wavenet_a", "wavenet_b", "sequnet_basic_valid",
                                         "sequnet_basic_padded", "sequnet_res_valid", "sequnet_res_padded",
                                         "task_char_sequnet", "task_poly_tcn", "task_poly_sequnet"),
                       ::testing::Values(DType::F32, DType::F64)),
    [](const auto& info) {
      return std::get<0>(info.param) + "_" + dtype_name(std::get<1>(info.param));
    });

TEST(VerifyRefs, F64IsMuchTighterThanF32) {
  const std::string dir = refs_dir();
  if (!path_exists(dir + "/tcn_a.params.safetensors")) GTEST_SKIP() << "reference data not found at " << dir;
  VerifyOptions o32, o64;
  o64.dtype = DType::F64;
  auto r32 = verify_reference(dir + "/tcn_a.params.safetensors", dir + "/tcn_a.data.safetensors", o32);
  auto r64 = verify_reference(dir + "/tcn_a.params.safetensors", dir + "/tcn_a.data.safetensors", o64);
  // In f64 the only difference left is the float32 rounding of the stored results (~6e-8 relative).
  EXPECT_LT(r64.rows[0].max_rel, 2e-7);
  EXPECT_LE(r64.rows[0].max_abs, r32.rows[0].max_abs);
}

TEST(VerifyRefs, ClearErrorsForBadFiles) {
  const std::string dir = refs_dir();
  if (!path_exists(dir + "/tcn_a.params.safetensors")) GTEST_SKIP() << "reference data not found at " << dir;
  VerifyOptions opt;
  // Weights of one model against the data of another: shape mismatches / missing keys by name.
  try {
    verify_reference(dir + "/tcn_a.params.safetensors", dir + "/tcn_b.data.safetensors", opt);
    // tcn_a's config is used; the data file's input has the wrong channel count.
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr("TCN"));
  }
  EXPECT_THROW(verify_reference(dir + "/does_not_exist.safetensors", dir + "/tcn_a.data.safetensors", opt), Error);
}

// Loading official weights and saving them again gives the official file's keys, order, shapes and
// bytes: what PyTorch's load_state_dict needs.
TEST(StateDict, SaveReproducesTheOfficialParamsFile) {
  const std::string dir = refs_dir();
  if (!path_exists(dir + "/tcn_a.params.safetensors")) GTEST_SKIP() << "reference data not found at " << dir;
  const std::string tmp = (std::filesystem::temp_directory_path() / "seqnet_state_dict_test.safetensors").string();
  for (const char* tag : {"tcn_a", "wavenet_b", "sequnet_basic_padded", "sequnet_res_valid", "task_char_sequnet",
                          "task_poly_tcn"}) {
    SafetensorsFile ref = load_safetensors(dir + "/" + tag + ".params.safetensors");
    Generator gen(0);
    BuiltModel built = build_from_config(ref.metadata.at("config"), gen);
    built.model->params().load(ref);
    built.model->params().save(tmp, {{"config", ref.metadata.at("config")}});
    SafetensorsFile ours = load_safetensors(tmp);
    ASSERT_EQ(ours.tensors.size(), ref.tensors.size()) << tag;
    for (size_t i = 0; i < ref.tensors.size(); ++i) {
      EXPECT_EQ(ours.tensors[i].first, ref.tensors[i].first) << tag << ": key order differs at " << i;
      EXPECT_EQ(ours.tensors[i].second.shape(), ref.tensors[i].second.shape()) << tag;
      EXPECT_EQ(ours.tensors[i].second.to_vector<float>(), ref.tensors[i].second.to_vector<float>()) << tag;
    }
  }
  std::filesystem::remove(tmp);
}

// The step-mode reference files are checked by the fast generation code (models/*_step.h).
TEST(VerifyRefs, GenerationFilesPass) {
  const std::string dir = refs_dir();
  if (!path_exists(dir + "/wavenet_a_gen.safetensors")) GTEST_SKIP() << "reference data not found at " << dir;
  for (auto [params, data] : {std::pair{"wavenet_a.params", "wavenet_a_gen"},
                              std::pair{"sequnet_res_gen.params", "sequnet_res_gen_steps"}}) {
    VerifyResult r = verify_reference(dir + "/" + params + ".safetensors", dir + "/" + data + ".safetensors", {});
    ASSERT_FALSE(r.not_applicable) << data << ": " << r.message;
    EXPECT_TRUE(r.passed) << data;
    EXPECT_EQ(r.rows.size(), 5u) << data;  // save, steps, full_equivalent, greedy logits, greedy indices
    if (!r.passed) print_verify(stderr, r, {});
  }
  // The generation file given as the params file: a hint, not a failure.
  VerifyResult r = verify_reference(dir + "/wavenet_a_gen.safetensors", dir + "/wavenet_a_gen.safetensors", {});
  EXPECT_TRUE(r.not_applicable);
  EXPECT_THAT(r.message, ::testing::HasSubstr("wavenet_a.params.safetensors"));
}

struct CountCase {
  const char* task;
  const char* model;
  int64_t params;
};

class TaskParamCounts : public ::testing::TestWithParam<CountCase> {};

TEST_P(TaskParamCounts, MatchModelsSpec) {
  const CountCase& c = GetParam();
  Generator gen(1);
  TaskModel tm = build_task_model(c.task, c.model, {}, gen);
  EXPECT_EQ(tm.model->params().count(), c.params) << c.task << "/" << c.model;
}

// MODELS.md §11 (computed from the official classes; char with the 49 symbols of the PTB files).
INSTANTIATE_TEST_SUITE_P(Section11, TaskParamCounts,
                         ::testing::Values(CountCase{"jsb", "tcn", 534468}, CountCase{"jsb", "sequnet", 521938},
                                           CountCase{"nottingham", "tcn", 1754058},
                                           CountCase{"nottingham", "sequnet", 1768738},
                                           CountCase{"muse", "tcn", 1754058}, CountCase{"char", "tcn", 5923249},
                                           CountCase{"char", "sequnet", 5905139}, CountCase{"word", "tcn", 14659600},
                                           CountCase{"word", "sequnet", 14911690}, CountCase{"copy", "tcn", 11020},
                                           CountCase{"copy", "sequnet", 25080},
                                           CountCase{"copy", "sequnet_res", 51280},
                                           CountCase{"audio", "wavenet", 8141184},
                                           CountCase{"audio", "sequnet_res", 26867236}),
                         [](const auto& info) { return std::string(info.param.task) + "_" + info.param.model; });

TEST(TaskModels, AudioModelFeedsOneHotCodesToItsBackbone) {
  TaskModelOptions o;
  o.nhid = 4;
  o.levels = 3;  // WaveNet: layers per block
  o.depth = 1;   // WaveNet: blocks
  o.output_size = 2;
  Generator gen(3);
  TaskModel tm = build_task_model("audio", "wavenet", o, gen);
  // RF = 1 + (2 − 1)(2^3 − 1) = 8; 9 inputs give 2 outputs of 256 logits.
  Tensor codes = Tensor::from_vector<int64_t>({128, 0, 255, 7, 128, 128, 3, 9, 200}, {1, 9});
  tm.model->set_training(false);
  Variable y = tm.model->forward(Variable(codes));
  EXPECT_EQ(y.shape(), (Shape{1, 256, 2}));
  EXPECT_EQ(tm.model->params().entries().front().name, "filter_convs.0.weight");  // no prefix
  EXPECT_THAT([&] { tm.model->forward(Variable(Tensor::from_vector<int64_t>({300}, {1, 1}))); },
              ::testing::Throws<Error>());
}

TEST(TaskModels, UnknownTaskOrModelIsAClearError) {
  EXPECT_THAT([] { build_task_model("music", "tcn", {}); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("unknown task 'music'")));
  EXPECT_THAT([] { build_task_model("audio", "tcn", {}); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("task 'audio' has no model 'tcn'")));
}

}  // namespace
