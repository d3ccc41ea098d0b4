// train/tasks/task_table.cpp — the table itself. Values are the official scripts' defaults and the
// README settings of the Seq-U-Net repository, as MODELS.md §10 lists them.
#include "train/tasks/task_table.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/json.h"

namespace seqnet {

namespace {

TaskModelOptions music_model(double dropout, int64_t ksize, int64_t levels, int64_t nhid) {
  TaskModelOptions o;
  o.dropout = dropout, o.ksize = ksize, o.levels = levels, o.nhid = nhid;
  return o;
}

TaskModelOptions text_model(bool word, int64_t nhid) {
  TaskModelOptions o;
  // The vocabulary is read from the data when it is there; these sizes are what the PTB files give
  // (char: 49 symbols, MODELS.md §10.3; word: 10 000 words incl. <eos>), used by `seqnet info`.
  o.vocab = word ? 10000 : 49, o.emsize = word ? 600 : 100, o.levels = 4, o.nhid = nhid, o.ksize = 3;
  o.dropout = word ? 0.5 : 0.1, o.emb_dropout = word ? 0.25 : 0.1, o.validseqlen = word ? 45 : 320, o.tied = true;
  return o;
}

TaskModelOptions synthetic_model(int64_t nhid) {
  TaskModelOptions o;
  o.nhid = nhid, o.levels = 8, o.ksize = 7, o.dropout = 0.0;
  return o;
}

TaskModelOptions audio_model(int64_t nhid, int64_t levels, int64_t depth, int64_t ksize) {
  TaskModelOptions o;
  o.nhid = nhid, o.levels = levels, o.depth = depth, o.ksize = ksize, o.output_size = 5000;
  return o;
}

// poly_music/train.py: Adam lr 1e-2, no clipping, batch 1, 100 epochs; halve when the validation
// loss exceeds the max of the last 10 (after epoch 10). README settings: JSB TCN 0.5/3/2/220,
// Seq-U-Net 0.5/3/2/175; Nott/Muse TCN 0.2/5/4/215, Seq-U-Net 0.2/5/4/150; Piano is not listed
// (the Nott/Muse settings are used).
TaskSpec music_task(const std::string& name, const std::string& what, const std::string& file, bool jsb) {
  TaskSpec t{name, TaskKind::Music, what + " (polyphonic music, NLL per frame)", {"tcn", "sequnet"}, {}, {}, {},
             "music/" + file};
  t.model_defaults["tcn"] = jsb ? music_model(0.5, 3, 2, 220) : music_model(0.2, 5, 4, 215);
  t.model_defaults["sequnet"] = jsb ? music_model(0.5, 3, 2, 175) : music_model(0.2, 5, 4, 150);
  t.training.lr = 1e-2, t.training.clip = -1, t.training.epochs = 100, t.training.batch_size = 1;
  t.lr_rule = {true, 10, 10, true};
  return t;
}

std::vector<TaskSpec> make_table() {
  std::vector<TaskSpec> table;

  // copy_memory/copy_mem_test.py (§10.1): batch 32, lr 1e-3, clip 1, 20 epochs; halve on ≥ max(last 5).
  TaskSpec copy{"copy", TaskKind::CopyMemory, "copy memory (synthetic; accuracy on the recalled digits)",
                {"tcn", "sequnet", "sequnet_res"}, {}, {}, {true, 10, 5, false}, ""};
  for (const auto& m : copy.models) copy.model_defaults[m] = synthetic_model(10);
  copy.training = {.lr = 1e-3, .clip = 1.0, .epochs = 20, .batch_size = 32, .log_interval = 50, .blank_len = 1000,
                   .n_train = 10000, .n_valid = 1000, .n_test = 1000};
  table.push_back(copy);

  // locuslab/TCN adding_problem/add_test.py: batch 32, lr 4e-3, 10 epochs, T 400; constant lr.
  TaskSpec adding{"adding", TaskKind::Adding, "the adding problem (synthetic; MSE)", {"tcn"}, {}, {}, {}, ""};
  adding.model_defaults["tcn"] = synthetic_model(30);
  adding.training = {.lr = 4e-3, .clip = -1, .epochs = 10, .batch_size = 32, .log_interval = 100, .seq_len = 400,
                     .n_train = 50000, .n_valid = 1000, .n_test = 1000};
  table.push_back(adding);

  table.push_back(music_task("jsb", "JSB Chorales", "JSB_Chorales.mat", true));
  table.push_back(music_task("nottingham", "Nottingham", "Nottingham.mat", false));
  table.push_back(music_task("muse", "MuseData", "MuseData.mat", false));
  table.push_back(music_task("piano", "Piano-midi.de", "Piano_midi.mat", false));

  // char_cnn / word_cnn (§10.3–10.4): batch 16, lr 1e-3, clip 0.4, 100 epochs; char halves on
  // v > max(last 5), word on v ≥ max(last 5), both after epoch 10.
  TaskSpec chars{"char", TaskKind::Characters, "Penn Treebank characters (BPC)", {"tcn", "sequnet"}, {}, {},
                 {true, 10, 5, true}, "ptb"};
  chars.model_defaults["tcn"] = text_model(false, 600);
  chars.model_defaults["sequnet"] = text_model(false, 390);
  chars.training = {.lr = 1e-3, .clip = 0.4, .epochs = 100, .batch_size = 16, .log_interval = 100, .seq_len = 400,
                    .validseqlen = 320};
  table.push_back(chars);

  TaskSpec words{"word", TaskKind::Words, "Penn Treebank words (perplexity)", {"tcn", "sequnet"}, {}, {},
                 {true, 10, 5, false}, "ptb"};
  words.model_defaults["tcn"] = text_model(true, 600);
  words.model_defaults["sequnet"] = text_model(true, 390);
  words.training = {.lr = 1e-3, .clip = 0.4, .epochs = 100, .batch_size = 16, .log_interval = 100, .seq_len = 117,
                    .validseqlen = 45};
  table.push_back(words);

  // raw_audio/train.py (§10.5): batch 16, lr 5e-4, 10 epochs, hop 40 000; constant lr.
  TaskSpec audio{"audio", TaskKind::Audio, "raw piano audio (16 kHz µ-law; accuracy, bits per sample)",
                 {"wavenet", "sequnet_res"}, {}, {}, {}, "audio"};
  audio.model_defaults["wavenet"] = audio_model(128, 13, 4, 2);
  audio.model_defaults["sequnet_res"] = audio_model(180, 11, 2, 5);
  audio.training = {.lr = 5e-4, .clip = -1, .epochs = 10, .batch_size = 16, .log_interval = 10, .hop = 40000};
  table.push_back(audio);
  return table;
}

}  // namespace

TaskModelOptions overlay(const TaskModelOptions& d, const TaskModelOptions& u) {
  TaskModelOptions o = d;
  auto take = [](auto& out, const auto& in) {
    if (in) out = in;
  };
  take(o.nhid, u.nhid), take(o.levels, u.levels), take(o.ksize, u.ksize), take(o.emsize, u.emsize);
  take(o.vocab, u.vocab), take(o.validseqlen, u.validseqlen), take(o.depth, u.depth);
  take(o.output_size, u.output_size), take(o.dropout, u.dropout), take(o.emb_dropout, u.emb_dropout);
  take(o.tied, u.tied);
  return o;
}

const std::vector<ModelIntOption>& model_int_options() {
  // Channel counts and embedding sizes up to 2^16; level and block counts up to 32 (a dilation of
  // 2^31 already far exceeds any sequence); kernels up to 1024; vocabularies and lengths up to 2^24.
  static const std::vector<ModelIntOption> options = {
      {"nhid", &TaskModelOptions::nhid, 1, int64_t(1) << 16},
      {"levels", &TaskModelOptions::levels, 1, 32},
      {"ksize", &TaskModelOptions::ksize, 1, 1024},
      {"emsize", &TaskModelOptions::emsize, 1, int64_t(1) << 16},
      {"vocab", &TaskModelOptions::vocab, 1, int64_t(1) << 24},
      {"validseqlen", &TaskModelOptions::validseqlen, 1, int64_t(1) << 24},
      {"depth", &TaskModelOptions::depth, 1, 32},
      {"output_size", &TaskModelOptions::output_size, 1, int64_t(1) << 24}};
  return options;
}

const ModelIntOption& model_int_option(const std::string& key) {
  for (const ModelIntOption& o : model_int_options())
    if (key == o.key) return o;
  fail(fmt::format("model_int_option: no model setting '{}'", key));
}

bool HalvingRule::should_halve(int64_t epoch, double v, const std::vector<double>& history) const {
  if (!enabled || epoch <= min_epoch || history.empty()) return false;
  const size_t n = std::min(history.size(), size_t(window));
  const double m = *std::max_element(history.end() - std::ptrdiff_t(n), history.end());
  return strict ? v > m : v >= m;
}

std::string HalvingRule::describe() const {
  if (!enabled) return "constant learning rate";
  return fmt::format("halve the learning rate when epoch > {} and valid loss {} max(last {})", min_epoch,
                     strict ? ">" : ">=", window);
}

const std::vector<TaskSpec>& task_table() {
  static const std::vector<TaskSpec> table = make_table();
  return table;
}

const TaskSpec& task_spec(const std::string& name) {
  for (const TaskSpec& t : task_table())
    if (t.name == name) return t;
  fail(fmt::format("unknown task '{}' (known: {})", text_excerpt(name), fmt::join(task_names(), ", ")));
}

const TaskSpec& task_spec(const std::string& name, const std::string& model) {
  const TaskSpec& t = task_spec(name);
  if (std::find(t.models.begin(), t.models.end(), model) == t.models.end())
    fail(fmt::format("task '{}' has no model '{}' (it offers: {})", name, text_excerpt(model),
                     fmt::join(t.models, ", ")));
  return t;
}

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const TaskSpec& t : task_table()) names.push_back(t.name);
  return names;
}

std::vector<std::string> task_model_names(const std::string& task) {
  for (const TaskSpec& t : task_table())
    if (t.name == task) return t.models;
  return {};
}

HalvingRule halving_rule(const std::string& task) { return task_spec(task).lr_rule; }

std::string music_file_name(const std::string& task) {
  const TaskSpec& t = task_spec(task);
  if (t.kind != TaskKind::Music)
    fail(fmt::format("'{}' is not a polyphonic-music task (jsb, nottingham, muse, piano)", task));
  return t.data;
}

}  // namespace seqnet
