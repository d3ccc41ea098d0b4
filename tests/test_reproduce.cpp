// tests/test_reproduce.cpp — `seqnet reproduce`: the protocol per row, the results file, the page.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/paths.h"
#include "test_util.h"
#include "train/loop/reproduce.h"

using namespace seqnet;
using namespace seqnet::testing;
using ::testing::HasSubstr;

namespace {

ReproduceOptions quick_copy(const TempDir& dir) {
  ReproduceOptions o;
  o.task = "copy", o.model = "tcn";
  o.epochs = 1, o.max_steps = 1, o.max_eval_batches = 1;
  o.runs_dir = dir.file("runs"), o.results = dir.file("docs/results.json"), o.page = dir.file("docs/results.md");
  o.command = "seqnet reproduce --task copy --model tcn --epochs 1 --max-steps 1 --max-eval-batches 1";
  o.verbosity = 0;
  return o;
}

}  // namespace

TEST(Reproduce, TheProtocolOfEachRow) {
  ReproduceOptions o;
  o.task = "nottingham", o.model = "tcn";
  TrainConfig c = reproduce_config(o);
  EXPECT_EQ(c.lr, 1e-3);  // the script's default is 1e-2; the protocol fixes 1e-3
  EXPECT_EQ(c.epochs, 100);
  EXPECT_EQ(c.seed, 1111u);
  EXPECT_EQ(c.clip, -1);
  EXPECT_FALSE(c.model_opts.nhid.has_value());  // unset: the task table's README settings apply
  EXPECT_EQ(c.out_dir, "runs/reproduce/nottingham-tcn-s1111");

  o.task = "copy";
  c = reproduce_config(o);
  EXPECT_EQ(c.epochs, 20);
  EXPECT_EQ(c.clip, 1.0);
  o.task = "audio", o.model = "wavenet";
  c = reproduce_config(o);
  EXPECT_EQ(c.lr, 5e-4);  // raw_audio/train.py
  EXPECT_EQ(c.epochs, 10);

  o.task = "jsb", o.model = "tcn", o.epochs = 101;
  EXPECT_THAT(error_of([&] { reproduce_config(o); }), HasSubstr("--epochs must be from 1 to the protocol's 100"));
  o.task = "adding", o.epochs = 0;
  const std::string e = error_of([&] { reproduce_config(o); });
  EXPECT_THAT(e, HasSubstr("no row for --task adding --model tcn"));
  EXPECT_THAT(e, HasSubstr("nottingham/sequnet"));
  EXPECT_EQ(paper_row("nottingham", "tcn").paper.value(), 2.783);
  EXPECT_EQ(paper_row("muse", "sequnet").paper.value(), 6.96);
  EXPECT_FALSE(paper_row("muse", "tcn").paper.has_value());
}

TEST(Reproduce, ARunBecomesARowAndThePageIsRenderedFromTheFile) {
  TempDir dir("reproduce");
  ReproduceOptions o = quick_copy(dir);
  const nlohmann::json row = run_reproduce(o);
  EXPECT_EQ(row["task"], "copy");
  EXPECT_EQ(row["metric"], "accuracy");
  EXPECT_EQ(row["parameters"], 11020);  // MODELS.md §11: copy-memory TCN + Linear
  EXPECT_EQ(row["epochs"], 1);
  EXPECT_EQ(row["epochs_protocol"], 20);
  EXPECT_THAT(row["protocol"].get<std::string>(), HasSubstr("shortened: 1 of 20 epochs, at most 1 steps each"));
  EXPECT_EQ(row["command"], o.command);
  EXPECT_TRUE(row.contains("first_epoch_over_99"));
  EXPECT_GE(row["value"].get<double>(), 0.0);
  EXPECT_LE(row["value"].get<double>(), 1.0);

  const nlohmann::json file = read_results(o.results);
  ASSERT_EQ(file["rows"].size(), 1u);
  EXPECT_EQ(file["rows"][0]["value"], row["value"]);
  const std::string page = read_file(o.page);
  EXPECT_THAT(page, HasSubstr("| copy | tcn | test accuracy |"));
  EXPECT_THAT(page, HasSubstr("shortened: 1 of 20 epochs"));
  EXPECT_THAT(page, HasSubstr("| nottingham / tcn | `seqnet reproduce --task nottingham --model tcn` |"));
  // A row with only a shortened run still lists its full-protocol command.
  EXPECT_THAT(page, HasSubstr("## Rows not run in full yet"));
  EXPECT_THAT(page, HasSubstr("| copy / tcn | `seqnet reproduce --task copy --model tcn` |"));
  EXPECT_TRUE(path_exists(dir.file("docs/" + row["curve"].get<std::string>())));
  EXPECT_THAT(list_rows(file), HasSubstr("done:"));

  // The same row again: refused without --resume / --overwrite, its run kept.
  EXPECT_THAT(error_of([&] { run_reproduce(o); }), HasSubstr("already holds a run of this row"));
  // --resume to a longer run replaces the row; another seed adds one.
  o.resume = true, o.epochs = 2;
  EXPECT_EQ(run_reproduce(o)["epochs"], 2);
  o.resume = false, o.seed = 7;
  run_reproduce(o);
  const nlohmann::json again = read_results(o.results);
  ASSERT_EQ(again["rows"].size(), 2u);
  EXPECT_EQ(again["rows"][0]["seed"], 7);  // ordered by the paper's table, then seed
  EXPECT_EQ(again["rows"][1]["epochs"], 2);
  EXPECT_THAT(read_file(o.page), HasSubstr("seed 7"));
}

TEST(Reproduce, ResumingWithOtherSettingsIsRefused) {
  TempDir dir("reproduce_resume");
  ReproduceOptions o = quick_copy(dir);
  EXPECT_THAT(error_of([&] {
                o.resume = true;
                run_reproduce(o);
              }),
              HasSubstr("holds no run to continue"));
}

TEST(Reproduce, AHostileResultsFileIsRefusedByName) {
  TempDir dir("reproduce_hostile");
  const std::string f = dir.file("results.json");
  EXPECT_EQ(read_results(dir.file("absent.json"))["rows"].size(), 0u);
  const std::pair<const char*, const char*> cases[] = {
      {"[1, 2]", "an object with a 'rows' array"},
      {"{\"rows\": 3}", "an object with a 'rows' array"},
      {"{\"rows\": [7]}", "every entry of 'rows' must be an object"},
      {"{\"rows\": [{\"task\": \"jsb\", \"model\": \"tcn\", \"seed\": 1, \"value\": \"x\"}]}", "'value' must be a number"},
      {"{\"rows\": [{\"task\": \"jsb\", \"model\": \"tcn\", \"seed\": -1, \"value\": 1}]}", "'seed' must be a non-negative"},
      {"{\"rows\": [{\"task\": \"jsb\", \"model\": \"tcn\", \"seed\": 1, \"value\": 1e999}]}", "number overflow"},
      {"{\"rows\": [", "invalid JSON"},
  };
  for (const auto& [text, expected] : cases) {
    write_file_atomic(f, text);
    const std::string e = error_of([&] { read_results(f); });
    EXPECT_THAT(e, HasSubstr(expected)) << text;
    EXPECT_THAT(e, HasSubstr(f)) << text;
  }
  write_file_atomic(f, std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_THAT(error_of([&] { read_results(f); }), HasSubstr("deeper than 64"));
  write_file_atomic(f, "{\"rows\": [], \"pad\": \"" + std::string(5u << 20, 'x') + "\"}");
  EXPECT_THAT(error_of([&] { read_results(f); }), HasSubstr("at most"));
}

// ---- spikes: a step that blows up is reported by step, not only by its epoch's average -------

#include "train/loop/spikes.h"

TEST(Spikes, AJumpInLossOrGradientNormIsFlaggedAfterWarmUp) {
  SpikeDetector d;
  // Warm-up: nothing is judged, however large.
  for (size_t i = 0; i < SpikeDetector::kWarmup; ++i) EXPECT_FALSE(d.observe(i == 3 ? 1e6 : 2.0 + 0.01 * double(i), 1.0).spike);
  EXPECT_FALSE(d.observe(2.5, 1.5).spike);
  SpikeDetector::Verdict v = d.observe(49.0, 1.0);  // the Nottingham epoch-29 kind of step
  EXPECT_TRUE(v.spike);
  EXPECT_NEAR(v.median_loss, 2.09, 0.05);
  EXPECT_FALSE(d.observe(2.2, 1.0).spike) << "one spike does not raise the bar (medians)";
  EXPECT_TRUE(d.observe(2.2, 60.0).spike) << "a gradient-norm jump alone";
  EXPECT_FALSE(d.observe(9.0, 40.0).spike) << "below both factors";
  SpikeDetector tiny;  // a converged run: 5x a tiny median is not a blow-up without the margin
  for (int i = 0; i < 20; ++i) tiny.observe(0.003, 1.0);
  EXPECT_FALSE(tiny.observe(0.8, 1.0).spike);
  EXPECT_TRUE(tiny.observe(6.4, 1.0).spike);
}
