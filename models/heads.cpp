#include "models/heads.h"
#include "models/planning.h"

#include "ops/ops.h"
#include "ops/embedding.h"
#include "ops/dropout.h"
#include "ops/time.h"

namespace seqnet {

// ---------------------------------------------------------------------------------------------
// LanguageModel
// ---------------------------------------------------------------------------------------------

LanguageModel::LanguageModel(LanguageModelConfig cfg, Generator& gen) : cfg_(std::move(cfg)) {
  if (!(!cfg_.num_channels.empty() && cfg_.num_channels.back() == cfg_.emsize))
    fail(fmt::format("LanguageModel: the last channel count must equal emsize ({}), got channels {}", cfg_.emsize,
                     shape_str(cfg_.num_channels)));
  check(cfg_.vocab > 0, "LanguageModel: vocabulary size must be positive, got {}", cfg_.vocab);
  Tensor E = cfg_.word_init ? Tensor::randn({cfg_.vocab, cfg_.emsize}, DType::F32, gen)
                            : Tensor::uniform({cfg_.vocab, cfg_.emsize}, -0.1, 0.1, DType::F32, gen);
  if (cfg_.word_init) E = tensor_ops::scale_shift(E, 0.01, 0.0);
  params_.add("encoder.weight", E);
  if (cfg_.model == "tcn") {
    tcn_ = std::make_unique<TCN>(TCNConfig{cfg_.emsize, cfg_.num_channels, cfg_.kernel_size, cfg_.dropout}, gen, "conv.");
    params_.append(tcn_->params());
  } else if (cfg_.model == "sequnet") {
    sequnet_ = std::make_unique<Sequnet>(
        SequnetConfig{cfg_.emsize, cfg_.num_channels, cfg_.emsize, cfg_.kernel_size, cfg_.dropout, cfg_.validseqlen},
        gen, "conv.");
    params_.append(sequnet_->params());
  } else {
    fail(fmt::format("LanguageModel: unknown model '{}' (expected tcn or sequnet)", cfg_.model));
  }
  if (cfg_.tied) {
    params_.alias("decoder.weight", "encoder.weight");
  } else {
    Tensor D = Tensor::randn({cfg_.vocab, cfg_.emsize}, DType::F32, gen);
    params_.add("decoder.weight", tensor_ops::scale_shift(D, 0.01, 0.0));
  }
  params_.add("decoder.bias", Tensor::zeros({cfg_.vocab}));
}

int64_t LanguageModel::input_size(int64_t seq_len) const { return sequnet_ ? sequnet_->input_size() : seq_len; }
int64_t LanguageModel::output_size(int64_t seq_len) const { return sequnet_ ? sequnet_->output_size() : seq_len; }

Variable LanguageModel::forward(const Variable& tokens) { return forward(tokens, -1); }

// emb = dropout(E[tokens]) → (N, emsize, T) → backbone → (N, T_out, emsize) → the newest
// positions → ·Eᵀ + bias. newest = −1: all T_out.
Variable LanguageModel::forward(const Variable& tokens, int64_t newest) {
  if (!(tokens.dtype() == DType::I64 && tokens.dim() == 2))
    fail(fmt::format("LanguageModel: expected token ids i64 (N, T), got {}", tokens.data().describe()));
  // (A Seq-U-Net refuses a window other than its input size itself, naming the size it needs.)
  const int64_t T = tokens.size(1);
  if (newest != -1 && (tcn_ || T == input_size(T)) && !(newest >= 1 && newest <= output_size(T)))
    fail(
        fmt::format("LanguageModel: asked for the logits of the newest {} positions, but tokens {} give {} "
                    "output positions",
                    newest, tokens.data().describe(), output_size(T)));
  const Variable& E = params_.get("encoder.weight");
  Variable emb = dropout(embedding(tokens.data(), E), cfg_.emb_dropout, training_, generator());
  Module& backbone = tcn_ ? static_cast<Module&>(*tcn_) : static_cast<Module&>(*sequnet_);
  backbone.set_training(training_);
  backbone.set_generator(gen_);
  const Variable y = newest == -1 ? backbone.forward(to_nct(emb)) : backbone.forward_newest(to_nct(emb), newest);
  return linear(to_ntc(y), params_.get("decoder.weight"), params_.get("decoder.bias"));
}

std::string LanguageModel::describe() const {
  return fmt::format("LanguageModel(vocab {}, emsize {}, {}, tied={})", cfg_.vocab, cfg_.emsize,
                     tcn_ ? tcn_->describe() : sequnet_->describe(), cfg_.tied);
}

// ---------------------------------------------------------------------------------------------
// PolyMusicModel
// ---------------------------------------------------------------------------------------------

PolyMusicModel::PolyMusicModel(PolyMusicConfig cfg, Generator& gen) : cfg_(std::move(cfg)) {
  check(!cfg_.num_channels.empty(), "PolyMusicModel: num_channels is empty");
  if (cfg_.model == "tcn") {
    tcn_ = std::make_unique<TCN>(TCNConfig{cfg_.input_size, cfg_.num_channels, cfg_.kernel_size, cfg_.dropout}, gen,
                                 "conv.");
    params_.append(tcn_->params());
    // locuslab poly_music: linear.weight ~ N(0, 0.01²), bias default.
    const int64_t in = cfg_.num_channels.back();
    params_.add("linear.weight", tensor_ops::scale_shift(Tensor::randn({cfg_.output_size, in}, DType::F32, gen), 0.01, 0.0));
    params_.add("linear.bias", default_uniform_init({cfg_.output_size}, in, gen));
  } else if (cfg_.model == "sequnet") {
    sequnet_ = std::make_unique<Sequnet>(SequnetConfig{cfg_.input_size, cfg_.num_channels, cfg_.output_size,
                                                       cfg_.kernel_size, cfg_.dropout, std::nullopt},
                                         gen, "conv.");
    params_.append(sequnet_->params());
  } else {
    fail(fmt::format("PolyMusicModel: unknown model '{}' (expected tcn or sequnet)", cfg_.model));
  }
}

// roll (N, T, keys) → backbone on (N, keys, T) → (N, T, ·) [→ linear]
Variable PolyMusicModel::forward(const Variable& roll) {
  if (!(roll.dim() == 3 && roll.size(2) == cfg_.input_size))
    fail(fmt::format("PolyMusicModel: expected a piano roll (N, T, {}), got {}", cfg_.input_size,
                     roll.data().describe()));
  if (tcn_) {
    tcn_->set_training(training_);
    tcn_->set_generator(gen_);
    Variable y = to_ntc(tcn_->forward(to_nct(roll)));
    return linear(y, params_.get("linear.weight"), params_.get("linear.bias"));
  }
  sequnet_->set_training(training_);
  sequnet_->set_generator(gen_);
  return to_ntc(sequnet_->forward(to_nct(roll)));
}

int64_t PolyMusicModel::aligned_length(int64_t T) const {
  check(T >= 1, "PolyMusicModel::aligned_length: T must be >= 1, got {}", T);
  if (tcn_) return T;
  return plan_basic_sequnet(cfg_.kernel_size, int64_t(cfg_.num_channels.size()), T, /*padded=*/true).input_size;
}

std::string PolyMusicModel::describe() const {
  return fmt::format("PolyMusicModel({} keys, {})", cfg_.input_size, tcn_ ? tcn_->describe() : sequnet_->describe());
}

// ---------------------------------------------------------------------------------------------
// CopyMemoryModel
// ---------------------------------------------------------------------------------------------

CopyMemoryModel::CopyMemoryModel(CopyMemoryConfig cfg, Generator& gen) : cfg_(std::move(cfg)) {
  std::vector<int64_t> channels(size_t(cfg_.levels), cfg_.nhid);
  if (cfg_.model == "tcn") {
    backbone_ = std::make_unique<TCN>(TCNConfig{1, channels, cfg_.kernel_size, cfg_.dropout}, gen, "conv.");
  } else if (cfg_.model == "sequnet") {
    auto s = std::make_unique<Sequnet>(SequnetConfig{1, channels, cfg_.nhid, cfg_.kernel_size, cfg_.dropout, 10}, gen,
                                       "conv.");
    planned_input_ = s->input_size();
    backbone_ = std::move(s);
  } else if (cfg_.model == "sequnet_res") {
    auto s = std::make_unique<SequnetRes>(
        SequnetResConfig{1, cfg_.nhid, cfg_.levels, cfg_.nhid, cfg_.kernel_size, 10, 1}, gen, "conv.");
    planned_input_ = s->input_size();
    backbone_ = std::move(s);
  } else {
    fail(fmt::format("CopyMemoryModel: unknown model '{}' (expected tcn, sequnet or sequnet_res)", cfg_.model));
  }
  params_.append(backbone_->params());
  params_.add("linear.weight", tensor_ops::scale_shift(Tensor::randn({cfg_.n_classes, cfg_.nhid}, DType::F32, gen), 0.01, 0.0));
  params_.add("linear.bias", default_uniform_init({cfg_.n_classes}, cfg_.nhid, gen));
}

// x (N, 1, T) → [front zero-pad to the plan] → backbone → last 10 steps → linear
Variable CopyMemoryModel::forward(const Variable& x) {
  if (!(x.dim() == 3 && x.size(1) == 1))
    fail(fmt::format("CopyMemoryModel: expected digits (N, 1, T), got {}", x.data().describe()));
  Variable in = x;
  if (planned_input_ > 0) {
    check(x.size(2) <= planned_input_, "CopyMemoryModel: input length {} exceeds the planned input size {}",
          x.size(2), planned_input_);
    in = pad_time(x, planned_input_ - x.size(2), 0);
  }
  backbone_->set_training(training_);
  backbone_->set_generator(gen_);
  Variable last = to_ntc(backbone_->forward_newest(in, 10));
  return linear(last, params_.get("linear.weight"), params_.get("linear.bias"));
}

std::string CopyMemoryModel::describe() const {
  return fmt::format("CopyMemoryModel({}, → {} classes)", backbone_->describe(), cfg_.n_classes);
}

// ---------------------------------------------------------------------------------------------
// AddingModel
// ---------------------------------------------------------------------------------------------

AddingModel::AddingModel(AddingConfig cfg, Generator& gen) : cfg_(cfg) {
  std::vector<int64_t> channels(size_t(cfg_.levels), cfg_.nhid);
  tcn_ = std::make_unique<TCN>(TCNConfig{2, channels, cfg_.kernel_size, cfg_.dropout}, gen, "tcn.");
  params_.append(tcn_->params());
  params_.add("linear.weight", tensor_ops::scale_shift(Tensor::randn({1, cfg_.nhid}, DType::F32, gen), 0.01, 0.0));
  params_.add("linear.bias", default_uniform_init({1}, cfg_.nhid, gen));
}

// x (N, 2, T) → TCN → last step (N, nhid) → linear → (N, 1)
Variable AddingModel::forward(const Variable& x) {
  if (!(x.dim() == 3 && x.size(1) == 2))
    fail(fmt::format("AddingModel: expected (N, 2, T) values and markers, got {}", x.data().describe()));
  tcn_->set_training(training_);
  tcn_->set_generator(gen_);
  Variable last = squeeze(tcn_->forward_newest(x, 1), 2);
  return linear(last, params_.get("linear.weight"), params_.get("linear.bias"));
}

std::string AddingModel::describe() const { return fmt::format("AddingModel({}, → 1)", tcn_->describe()); }

// ---------------------------------------------------------------------------------------------
// AudioModel
// ---------------------------------------------------------------------------------------------

AudioModel::AudioModel(std::unique_ptr<Module> backbone, int64_t classes)
    : backbone_(std::move(backbone)), classes_(classes) {
  check(backbone_ != nullptr, "AudioModel: no backbone");
  check(classes_ >= 2, "AudioModel: need at least 2 classes, got {}", classes_);
  params_.append(backbone_->params());
}

// codes (N, T) → one-hot (N, classes, T) → backbone
Variable AudioModel::forward(const Variable& codes) {
  if (!(codes.dtype() == DType::I64 && codes.dim() == 2))
    fail(fmt::format("AudioModel: expected µ-law codes i64 (N, T), got {}", codes.data().describe()));
  backbone_->set_training(training_);
  backbone_->set_generator(gen_);
  // The first layer of both raw-audio models is a conv over the one-hot codes: it reads the codes
  // directly as lookups (models/one_hot_conv.h), so no one-hot tensor is built or kept.
  if (auto* wavenet = dynamic_cast<WaveNet*>(backbone_.get())) return wavenet->forward_codes(codes.data());
  if (auto* res = dynamic_cast<SequnetRes*>(backbone_.get()); res && res->config().target_output_size.has_value())
    return res->forward_codes(codes.data());
  DType dt = params_.entries().empty() ? DType::F32 : params_.entries().front().var.dtype();
  return backbone_->forward(Variable(one_hot_channels_first(codes.data(), classes_, dt)));
}

std::string AudioModel::describe() const { return fmt::format("AudioModel({} classes, {})", classes_, backbone_->describe()); }

}  // namespace seqnet
