#include "models/registry.h"

#include <nlohmann/json.hpp>

#include "core/json.h"
#include "core/json_fields.h"
#include "models/heads.h"

namespace seqnet {

namespace {
using json = nlohmann::json;

// Bounds of the constructor arguments a reference file may give: generous, but a typo or a damaged
// file fails here with the field named instead of in an allocation.
constexpr int64_t kMaxChannels = int64_t(1) << 16;  // channels, embedding sizes
constexpr int64_t kMaxSize = int64_t(1) << 24;      // inputs, outputs, classes, vocabularies, lengths
constexpr int64_t kMaxKernel = 1024;
constexpr int64_t kMaxLevels = 40;                  // levels, layers, blocks, depth (dilations 2^levels)

std::vector<int64_t> channels(const JsonFields& r, const char* key) {
  return r.integers(key, 1, kMaxChannels, size_t(kMaxLevels));
}
int64_t int_or(const JsonFields& r, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  return r.has(key) ? r.integer(key, lo, hi) : fallback;
}
double dropout_or(const JsonFields& r, const char* key, double fallback) {
  return r.has(key) ? r.number(key, 0.0, 1.0) : fallback;
}
std::optional<int64_t> optional_size(const JsonFields& r, const char* key) {
  if (!r.has(key)) return std::nullopt;
  return r.integer(key, 1, kMaxSize);
}
}  // namespace

BuiltModel build_from_config(const std::string& config_json, Generator& gen) {
  return build_from_config(config_json, "model config", gen);
}

BuiltModel build_from_config(const std::string& config_json, const std::string& doc, Generator& gen) {
  const json j = parse_json<json>(config_json, doc);
  const JsonFields r(j, doc);
  BuiltModel out;
  if (r.has("class")) {
    const std::string cls = r.one_of("class", {"tcn.TemporalConvNet", "raw_audio/wavenet_model.WaveNetModel",
                                               "sequnet.Sequnet", "sequnet_res.Sequnet"});
    out.name = cls;
    if (cls == "tcn.TemporalConvNet") {
      out.model = std::make_unique<TCN>(TCNConfig{r.integer("num_inputs", 1, kMaxSize), channels(r, "num_channels"),
                                                  int_or(r, "kernel_size", 2, 1, kMaxKernel),
                                                  dropout_or(r, "dropout", 0.2)},
                                        gen);
    } else if (cls == "raw_audio/wavenet_model.WaveNetModel") {
      WaveNetConfig c;
      c.layers = int_or(r, "layers", c.layers, 1, kMaxLevels);
      c.blocks = int_or(r, "blocks", c.blocks, 1, kMaxLevels);
      c.dilation_channels = int_or(r, "dilation_channels", c.dilation_channels, 1, kMaxChannels);
      c.residual_channels = int_or(r, "residual_channels", c.residual_channels, 1, kMaxChannels);
      c.skip_channels = int_or(r, "skip_channels", c.skip_channels, 1, kMaxChannels);
      c.classes = int_or(r, "classes", c.classes, 1, kMaxSize);
      c.output_length = int_or(r, "output_length", c.output_length, 1, kMaxSize);
      c.kernel_size = int_or(r, "kernel_size", c.kernel_size, 1, kMaxKernel);
      c.bias = r.has("bias") ? r.boolean("bias") : c.bias;
      out.model = std::make_unique<WaveNet>(c, gen);
    } else if (cls == "sequnet.Sequnet") {
      out.model = std::make_unique<Sequnet>(
          SequnetConfig{r.integer("num_inputs", 1, kMaxSize), channels(r, "num_channels"),
                        r.integer("num_outputs", 1, kMaxSize), int_or(r, "kernel_size", 3, 1, kMaxKernel),
                        dropout_or(r, "dropout", 0.2), optional_size(r, "target_output_size")},
          gen);
    } else {  // sequnet_res.Sequnet
      out.model = std::make_unique<SequnetRes>(
          SequnetResConfig{r.integer("num_inputs", 1, kMaxSize), r.integer("num_channels", 1, kMaxChannels),
                           r.integer("num_levels", 1, kMaxLevels), r.integer("num_outputs", 1, kMaxSize),
                           int_or(r, "kernel_size", 3, 1, kMaxKernel), optional_size(r, "target_output_size"),
                           int_or(r, "depth", 1, 1, kMaxLevels)},
          gen);
    }
    out.kind = ModelKind::Backbone;
    return out;
  }
  if (r.has("wrapper")) {
    const std::string w = r.one_of("wrapper", {"char_cnn/model.TCN", "poly_music/model.TCN"});
    out.name = w;
    if (w == "char_cnn/model.TCN") {
      LanguageModelConfig c;
      c.model = r.string("model");
      c.vocab = r.integer("n_characters", 1, kMaxSize);
      c.emsize = r.integer("emsize", 1, kMaxChannels);
      c.num_channels = channels(r, "num_channels");
      c.kernel_size = int_or(r, "ksize", 3, 1, kMaxKernel);
      c.dropout = dropout_or(r, "dropout", 0.1);
      c.emb_dropout = dropout_or(r, "emb_dropout", 0.1);
      c.validseqlen = int_or(r, "validseqlen_requested", 320, 1, kMaxSize);
      c.tied = r.has("tied") ? r.boolean("tied") : true;
      out.model = std::make_unique<LanguageModel>(c, gen);
      out.kind = ModelKind::CharLanguage;
    } else {  // poly_music/model.TCN
      PolyMusicConfig c;
      c.model = r.string("model");
      c.input_size = r.integer("input_size", 1, kMaxSize);
      c.output_size = r.integer("output_size", 1, kMaxSize);
      c.num_channels = channels(r, "num_channels");
      c.kernel_size = int_or(r, "kernel_size", 5, 1, kMaxKernel);
      c.dropout = dropout_or(r, "dropout", 0.25);
      out.model = std::make_unique<PolyMusicModel>(c, gen);
      out.kind = ModelKind::PolyMusic;
    }
    return out;
  }
  if (r.has("params")) {
    out.kind = ModelKind::Generation;
    out.name = "generation reference (" + json_excerpt(r.value("params")) + ")";
    return out;
  }
  fail(fmt::format("{}: has neither 'class' nor 'wrapper' (nor 'params'); found {}", doc, json_excerpt(j)));
}

}  // namespace seqnet
