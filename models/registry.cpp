#include "models/registry.h"

#include <nlohmann/json.hpp>

#include "models/heads.h"

namespace seqnet {

namespace {
using json = nlohmann::json;

template <typename T>
T field(const json& j, const char* key, const std::string& cls) {
  check(j.contains(key), "model config of {}: missing field '{}'", cls, key);
  try {
    return j.at(key).get<T>();
  } catch (const json::exception& e) {
    throw Error(fmt::format("model config of {}: field '{}' has the wrong type ({})", cls, key, e.what()));
  }
}

template <typename T>
T field_or(const json& j, const char* key, T fallback, const std::string& cls) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  return field<T>(j, key, cls);
}

std::optional<int64_t> optional_int(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<int64_t>();
}
}  // namespace

BuiltModel build_from_config(const std::string& config_json, Generator& gen) {
  json j;
  try {
    j = json::parse(config_json);
  } catch (const json::exception& e) {
    throw Error(fmt::format("model config is not valid JSON: {}", e.what()));
  }
  check(j.is_object(), "model config must be a JSON object, got: {}", config_json.substr(0, 80));
  BuiltModel out;
  if (j.contains("class")) {
    const std::string cls = field<std::string>(j, "class", "?");
    out.name = cls;
    if (cls == "tcn.TemporalConvNet") {
      out.model = std::make_unique<TCN>(TCNConfig{field<int64_t>(j, "num_inputs", cls),
                                                  field<std::vector<int64_t>>(j, "num_channels", cls),
                                                  field_or<int64_t>(j, "kernel_size", 2, cls),
                                                  field_or<double>(j, "dropout", 0.2, cls)},
                                        gen);
    } else if (cls == "raw_audio/wavenet_model.WaveNetModel") {
      WaveNetConfig c;
      c.layers = field_or<int64_t>(j, "layers", c.layers, cls);
      c.blocks = field_or<int64_t>(j, "blocks", c.blocks, cls);
      c.dilation_channels = field_or<int64_t>(j, "dilation_channels", c.dilation_channels, cls);
      c.residual_channels = field_or<int64_t>(j, "residual_channels", c.residual_channels, cls);
      c.skip_channels = field_or<int64_t>(j, "skip_channels", c.skip_channels, cls);
      c.classes = field_or<int64_t>(j, "classes", c.classes, cls);
      c.output_length = field_or<int64_t>(j, "output_length", c.output_length, cls);
      c.kernel_size = field_or<int64_t>(j, "kernel_size", c.kernel_size, cls);
      c.bias = field_or<bool>(j, "bias", c.bias, cls);
      out.model = std::make_unique<WaveNet>(c, gen);
    } else if (cls == "sequnet.Sequnet") {
      out.model = std::make_unique<Sequnet>(
          SequnetConfig{field<int64_t>(j, "num_inputs", cls), field<std::vector<int64_t>>(j, "num_channels", cls),
                        field<int64_t>(j, "num_outputs", cls), field_or<int64_t>(j, "kernel_size", 3, cls),
                        field_or<double>(j, "dropout", 0.2, cls), optional_int(j, "target_output_size")},
          gen);
    } else if (cls == "sequnet_res.Sequnet") {
      out.model = std::make_unique<SequnetRes>(
          SequnetResConfig{field<int64_t>(j, "num_inputs", cls), field<int64_t>(j, "num_channels", cls),
                           field<int64_t>(j, "num_levels", cls), field<int64_t>(j, "num_outputs", cls),
                           field_or<int64_t>(j, "kernel_size", 3, cls), optional_int(j, "target_output_size"),
                           field_or<int64_t>(j, "depth", 1, cls)},
          gen);
    } else {
      fail(fmt::format("model config: unknown class '{}' (known: tcn.TemporalConvNet, "
                       "raw_audio/wavenet_model.WaveNetModel, sequnet.Sequnet, sequnet_res.Sequnet)",
                       cls));
    }
    out.kind = ModelKind::Backbone;
    return out;
  }
  if (j.contains("wrapper")) {
    const std::string w = field<std::string>(j, "wrapper", "?");
    out.name = w;
    if (w == "char_cnn/model.TCN") {
      LanguageModelConfig c;
      c.model = field<std::string>(j, "model", w);
      c.vocab = field<int64_t>(j, "n_characters", w);
      c.emsize = field<int64_t>(j, "emsize", w);
      c.num_channels = field<std::vector<int64_t>>(j, "num_channels", w);
      c.kernel_size = field_or<int64_t>(j, "ksize", 3, w);
      c.dropout = field_or<double>(j, "dropout", 0.1, w);
      c.emb_dropout = field_or<double>(j, "emb_dropout", 0.1, w);
      c.validseqlen = field_or<int64_t>(j, "validseqlen_requested", 320, w);
      c.tied = field_or<bool>(j, "tied", true, w);
      out.model = std::make_unique<LanguageModel>(c, gen);
      out.kind = ModelKind::CharLanguage;
    } else if (w == "poly_music/model.TCN") {
      PolyMusicConfig c;
      c.model = field<std::string>(j, "model", w);
      c.input_size = field<int64_t>(j, "input_size", w);
      c.output_size = field<int64_t>(j, "output_size", w);
      c.num_channels = field<std::vector<int64_t>>(j, "num_channels", w);
      c.kernel_size = field_or<int64_t>(j, "kernel_size", 5, w);
      c.dropout = field_or<double>(j, "dropout", 0.25, w);
      out.model = std::make_unique<PolyMusicModel>(c, gen);
      out.kind = ModelKind::PolyMusic;
    } else {
      fail(fmt::format("model config: unknown wrapper '{}' (known: char_cnn/model.TCN, poly_music/model.TCN)", w));
    }
    return out;
  }
  if (j.contains("params")) {
    out.kind = ModelKind::Generation;
    out.name = "generation reference (" + j.at("params").dump() + ")";
    return out;
  }
  fail(fmt::format("model config has neither 'class' nor 'wrapper': {}", config_json.substr(0, 120)));
}

}  // namespace seqnet
