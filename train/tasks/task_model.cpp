// train/tasks/task_model.cpp — one builder per task kind, reading the settings the task table and
// the user's flags resolved (every field set: see build_task_model).
#include "train/tasks/task_model.h"

#include <functional>

#include "models/heads.h"

namespace seqnet {

namespace {

using Note = std::function<void(const std::string&)>;

std::unique_ptr<Module> music_model(const std::string& model, const TaskModelOptions& o, const Note& note,
                                    Generator& gen) {
  PolyMusicConfig c;
  c.model = model;
  c.dropout = o.dropout.value();
  c.kernel_size = o.ksize.value();
  c.num_channels.assign(size_t(o.levels.value()), o.nhid.value());
  note(fmt::format("88 keys, channels {}, K {}, dropout {}", shape_str(c.num_channels), c.kernel_size, c.dropout));
  return std::make_unique<PolyMusicModel>(c, gen);
}

std::unique_ptr<Module> language_model(const std::string& model, bool word, const TaskModelOptions& o,
                                       const Note& note, Generator& gen) {
  LanguageModelConfig c;
  c.model = model;
  c.word_init = word;
  c.vocab = o.vocab.value();
  c.emsize = o.emsize.value();
  c.num_channels.assign(size_t(o.levels.value() - 1), o.nhid.value());
  c.num_channels.push_back(c.emsize);
  c.kernel_size = o.ksize.value();
  c.dropout = o.dropout.value();
  c.emb_dropout = o.emb_dropout.value();
  c.validseqlen = o.validseqlen.value();
  c.tied = o.tied.value();
  note(fmt::format("vocab {}, emsize {}, channels {}, K {}, dropout {}, emb_dropout {}, validseqlen {}{}", c.vocab,
                   c.emsize, shape_str(c.num_channels), c.kernel_size, c.dropout, c.emb_dropout, c.validseqlen,
                   c.tied ? ", tied" : ""));
  auto lm = std::make_unique<LanguageModel>(c, gen);
  if (model == "sequnet")
    note(fmt::format("planned window: seq_len {} → {} predicted positions", lm->input_size(0), lm->output_size(0)));
  return lm;
}

std::unique_ptr<Module> copy_model(const std::string& model, const TaskModelOptions& o, const Note& note,
                                   Generator& gen) {
  CopyMemoryConfig c;
  c.model = model;
  c.nhid = o.nhid.value();
  c.levels = o.levels.value();
  c.kernel_size = o.ksize.value();
  c.dropout = o.dropout.value();
  note(fmt::format("1 input channel, [{}] x {}, K {}, → Linear({}, 10) on the last 10 steps", c.nhid, c.levels,
                   c.kernel_size, c.nhid));
  return std::make_unique<CopyMemoryModel>(c, gen);
}

std::unique_ptr<Module> adding_model(const TaskModelOptions& o, const Note& note, Generator& gen) {
  AddingConfig c;
  c.nhid = o.nhid.value();
  c.levels = o.levels.value();
  c.kernel_size = o.ksize.value();
  c.dropout = o.dropout.value();
  note(fmt::format("2 input channels, [{}] x {}, K {}, → Linear({}, 1) on the last step", c.nhid, c.levels,
                   c.kernel_size, c.nhid));
  return std::make_unique<AddingModel>(c, gen);
}

std::unique_ptr<Module> audio_model(const std::string& model, const TaskModelOptions& o, const Note& note,
                                    Generator& gen) {
  if (model == "wavenet") {
    WaveNetConfig c;
    c.layers = o.levels.value();
    c.blocks = o.depth.value();
    c.dilation_channels = c.residual_channels = o.nhid.value();
    c.skip_channels = 512;
    c.classes = 256;
    c.kernel_size = o.ksize.value();
    c.output_length = o.output_size.value();
    c.bias = true;
    auto w = std::make_unique<WaveNet>(c, gen);
    note(fmt::format("{} layers x {} blocks, 128/128/512, K {}, RF {}, input {} → {} outputs", c.layers, c.blocks,
                     c.kernel_size, w->receptive_field(), w->input_size(), c.output_length));
    return std::make_unique<AudioModel>(std::move(w), c.classes);
  }
  SequnetResConfig c;
  c.num_inputs = c.num_outputs = 256;
  c.num_channels = o.nhid.value();
  c.num_levels = o.levels.value();
  c.depth = o.depth.value();
  c.kernel_size = o.ksize.value();
  c.target_output_size = o.output_size.value();
  auto s = std::make_unique<SequnetRes>(c, gen);
  note(fmt::format("C {}, {} levels, depth {}, K {}, input {} → {} outputs", c.num_channels, c.num_levels, c.depth,
                   c.kernel_size, s->input_size(), s->output_size()));
  return std::make_unique<AudioModel>(std::move(s), 256);
}

}  // namespace

TaskModel build_task_model(const std::string& task, const std::string& model, const TaskModelOptions& opt,
                           Generator& gen) {
  const TaskSpec& spec = task_spec(task, model);
  // The table's defaults set every field its models read, so the .value() calls above cannot fail.
  const TaskModelOptions o = overlay(spec.model_defaults.at(model), opt);
  TaskModel out;
  out.task = task;
  out.model_name = model;
  const Note note = [&](const std::string& s) { out.settings.push_back(s); };
  switch (spec.kind) {
    case TaskKind::Music: out.model = music_model(model, o, note, gen); break;
    case TaskKind::Characters:
    case TaskKind::Words: out.model = language_model(model, spec.kind == TaskKind::Words, o, note, gen); break;
    case TaskKind::CopyMemory: out.model = copy_model(model, o, note, gen); break;
    case TaskKind::Adding: out.model = adding_model(o, note, gen); break;
    case TaskKind::Audio: out.model = audio_model(model, o, note, gen); break;
  }
  return out;
}

}  // namespace seqnet
