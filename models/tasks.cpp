#include "models/tasks.h"

#include <algorithm>

#include "models/heads.h"

namespace seqnet {

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names{"copy", "adding", "jsb", "nottingham", "muse", "piano", "char", "word", "audio"};
  return names;
}

std::vector<std::string> task_model_names(const std::string& task) {
  if (task == "copy") return {"tcn", "sequnet", "sequnet_res"};
  if (task == "audio") return {"wavenet", "sequnet_res"};
  if (task == "adding") return {"tcn"};
  if (std::find(task_names().begin(), task_names().end(), task) != task_names().end()) return {"tcn", "sequnet"};
  return {};
}

TaskModel build_task_model(const std::string& task, const std::string& model, const TaskModelOptions& o,
                           Generator& gen) {
  const auto known = task_model_names(task);
  check(!known.empty(), "unknown task '{}' (known: {})", task, fmt::join(task_names(), ", "));
  check(std::find(known.begin(), known.end(), model) != known.end(), "task '{}' has no model '{}' (it offers: {})",
        task, model, fmt::join(known, ", "));
  TaskModel out;
  out.task = task;
  out.model_name = model;
  auto note = [&](const std::string& s) { out.settings.push_back(s); };

  if (task == "jsb" || task == "nottingham" || task == "muse" || task == "piano") {
    // README settings: JSB TCN 0.5/3/2/220, Seq-U-Net 0.5/3/2/175; Nott/Muse TCN 0.2/5/4/215,
    // Seq-U-Net 0.2/5/4/150; Piano is not listed (the Nott/Muse settings are used).
    const bool jsb = task == "jsb";
    PolyMusicConfig c;
    c.model = model;
    c.dropout = o.dropout.value_or(jsb ? 0.5 : 0.2);
    c.kernel_size = o.ksize.value_or(jsb ? 3 : 5);
    const int64_t levels = o.levels.value_or(jsb ? 2 : 4);
    const int64_t nhid = o.nhid.value_or(model == "tcn" ? (jsb ? 220 : 215) : (jsb ? 175 : 150));
    c.num_channels.assign(size_t(levels), nhid);
    note(fmt::format("88 keys, channels {}, K {}, dropout {}", shape_str(c.num_channels), c.kernel_size, c.dropout));
    out.model = std::make_unique<PolyMusicModel>(c, gen);
  } else if (task == "char" || task == "word") {
    const bool word = task == "word";
    LanguageModelConfig c;
    c.model = model;
    c.word_init = word;
    c.vocab = o.vocab.value_or(word ? 10000 : 50);
    c.emsize = o.emsize.value_or(word ? 600 : 100);
    const int64_t levels = o.levels.value_or(4);
    const int64_t nhid = o.nhid.value_or(model == "tcn" ? 600 : 390);
    c.num_channels.assign(size_t(levels - 1), nhid);
    c.num_channels.push_back(c.emsize);
    c.kernel_size = o.ksize.value_or(3);
    c.dropout = o.dropout.value_or(word ? 0.5 : 0.1);
    c.emb_dropout = o.emb_dropout.value_or(word ? 0.25 : 0.1);
    c.validseqlen = o.validseqlen.value_or(word ? 45 : 320);
    c.tied = o.tied.value_or(true);
    note(fmt::format("vocab {}, emsize {}, channels {}, K {}, dropout {}, emb_dropout {}, validseqlen {}{}", c.vocab,
                     c.emsize, shape_str(c.num_channels), c.kernel_size, c.dropout, c.emb_dropout, c.validseqlen,
                     c.tied ? ", tied" : ""));
    auto lm = std::make_unique<LanguageModel>(c, gen);
    if (model == "sequnet")
      note(fmt::format("planned window: seq_len {} → {} predicted positions", lm->input_size(0), lm->output_size(0)));
    out.model = std::move(lm);
  } else if (task == "copy") {
    CopyMemoryConfig c;
    c.model = model;
    c.nhid = o.nhid.value_or(10);
    c.levels = o.levels.value_or(8);
    c.kernel_size = o.ksize.value_or(7);
    c.dropout = o.dropout.value_or(0.0);
    note(fmt::format("1 input channel, [{}] x {}, K {}, → Linear({}, 10) on the last 10 steps", c.nhid, c.levels,
                     c.kernel_size, c.nhid));
    out.model = std::make_unique<CopyMemoryModel>(c, gen);
  } else if (task == "adding") {
    AddingConfig c;
    c.nhid = o.nhid.value_or(30);
    c.levels = o.levels.value_or(8);
    c.kernel_size = o.ksize.value_or(7);
    c.dropout = o.dropout.value_or(0.0);
    note(fmt::format("2 input channels, [{}] x {}, K {}, → Linear({}, 1) on the last step", c.nhid, c.levels,
                     c.kernel_size, c.nhid));
    out.model = std::make_unique<AddingModel>(c, gen);
  } else {  // audio
    if (model == "wavenet") {
      WaveNetConfig c;
      c.layers = o.levels.value_or(13);
      c.blocks = o.depth.value_or(4);
      c.dilation_channels = c.residual_channels = o.nhid.value_or(128);
      c.skip_channels = 512;
      c.classes = 256;
      c.kernel_size = o.ksize.value_or(2);
      c.output_length = o.output_size.value_or(5000);
      c.bias = true;
      auto w = std::make_unique<WaveNet>(c, gen);
      note(fmt::format("{} layers x {} blocks, 128/128/512, K {}, RF {}, input {} → {} outputs", c.layers, c.blocks,
                       c.kernel_size, w->receptive_field(), w->input_size(), c.output_length));
      out.model = std::make_unique<AudioModel>(std::move(w), c.classes);
    } else {
      SequnetResConfig c;
      c.num_inputs = c.num_outputs = 256;
      c.num_channels = o.nhid.value_or(180);
      c.num_levels = o.levels.value_or(11);
      c.depth = o.depth.value_or(2);
      c.kernel_size = o.ksize.value_or(5);
      c.target_output_size = o.output_size.value_or(5000);
      auto s = std::make_unique<SequnetRes>(c, gen);
      note(fmt::format("C {}, {} levels, depth {}, K {}, input {} → {} outputs", c.num_channels, c.num_levels, c.depth,
                       c.kernel_size, s->input_size(), s->output_size()));
      out.model = std::make_unique<AudioModel>(std::move(s), 256);
    }
  }
  return out;
}

}  // namespace seqnet
