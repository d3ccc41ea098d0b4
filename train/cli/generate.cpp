#include "train/cli/generate.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/atomic_file.h"
#include "core/device_api.h"
#include "core/error.h"
#include "core/paths.h"
#include "models/heads.h"
#include "models/step/head_step.h"
#include "models/step/sampling.h"
#include "models/step/sequnet_res_step.h"
#include "models/step/wavenet_step.h"
#include "ops/ops.h"
#include "train/data/audio_data.h"
#include "train/data/midi.h"
#include "train/data/music_data.h"
#include "train/loop/checkpoint.h"
#include "train/loop/trainer.h"
#include "train/tasks/task_table.h"

namespace seqnet {
namespace {

using Clock = std::chrono::steady_clock;

// Index drawn from softmax(logits / temperature); temperature 0: argmax.
int64_t sample_categorical(const float* logits, int64_t C, int64_t stride, double temperature, Generator& g) {
  int64_t best = 0;
  for (int64_t c = 1; c < C; ++c)
    if (logits[c * stride] > logits[best * stride]) best = c;
  if (temperature == 0) return best;
  const double m = logits[best * stride];
  double total = 0;
  std::vector<double> p(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) total += p[size_t(c)] = std::exp((double(logits[c * stride]) - m) / temperature);
  double u = u64_to_unit_double(g.next_u64()) * total;
  for (int64_t c = 0; c < C; ++c)
    if ((u -= p[size_t(c)]) < 0) return c;
  return C - 1;
}

// Progress on a terminal (stderr), or one line at the end otherwise.
struct Meter {
  int verbosity;
  int64_t total;
  Clock::time_point t0 = Clock::now(), last{};
  bool tty = isatty(STDERR_FILENO) == 1;
  void update(int64_t done) {
    if (verbosity < 1 || !tty) return;
    const auto now = Clock::now();
    if (done < total && now - last < std::chrono::milliseconds(200)) return;
    last = now;
    const double el = std::chrono::duration<double>(now - t0).count();
    fmt::print(stderr, "\r\033[Kgenerating {}/{}  {:.1f} samples/s", done, total, double(done) / std::max(el, 1e-9));
    std::fflush(stderr);
  }
  double finish() {
    if (verbosity >= 1 && tty) fmt::print(stderr, "\r\033[K");
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }
};

// The fast path's first line: how the step weights are stored and what the save pass cost.
void report_save(const GenerateOptions& opt, step::Weights weights, int64_t len, Clock::time_point t0) {
  if (opt.verbosity < 1) return;
  fmt::print("fast path ({} weights, {} step thread{}): save pass over {} steps in {:.2f} s\n",
             step::weights_name(weights), opt.step_threads, opt.step_threads == 1 ? "" : "s", len,
             std::chrono::duration<double>(Clock::now() - t0).count());
}

std::string numbered(const std::string& out, int64_t b, int64_t batch) {
  if (batch == 1) return out;
  const auto dot = out.find_last_of('.');
  const auto slash = out.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return fmt::format("{}_{}", out, b);
  return fmt::format("{}_{}{}", out.substr(0, dot), b, out.substr(dot));
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ---- raw audio ------------------------------------------------------------------------------------

GenerateResult generate_audio(const GenerateOptions& opt, AudioModel& model, Generator& g) {
  check(ends_with(opt.out, ".wav"), "generate: an audio model writes a WAV; --out must end in .wav, got '{}'", opt.out);
  int64_t input_size = 0;
  Module& bb = model.backbone();
  if (auto* w = dynamic_cast<WaveNet*>(&bb)) input_size = w->input_size();
  else if (auto* s = dynamic_cast<SequnetRes*>(&bb)) input_size = s->input_size();
  else fail("generate: unsupported audio backbone");
  std::vector<int64_t> prime;
  if (!opt.prime.empty()) prime = mulaw_encode(read_wav_mono16k(opt.prime));
  const int64_t B = opt.batch, N = opt.samples;
  // history per stream: silence, then the prime, then what we generate
  std::vector<std::vector<int64_t>> hist(size_t(B), std::vector<int64_t>(size_t(input_size), kMulawSilence));
  for (auto& h : hist) h.insert(h.end(), prime.begin(), prime.end());
  NoGradGuard ng;
  GenerateResult r;
  auto* wavenet = dynamic_cast<WaveNet*>(&bb);
  auto* sequnet = dynamic_cast<SequnetRes*>(&bb);
  if (opt.persistent) {
    check(!opt.slow, "generate: --persistent is a fast-path loop; it does not go with --slow");
    check(wavenet,
          "generate: --persistent runs the WaveNet's loop only; this checkpoint's model is the residual "
          "Seq-U-Net (its clock phases are recorded steps already)");
    check(!opt.device.is_cpu(), "generate: --persistent runs the loop as one GPU kernel; give --device cuda");
    check(B <= kWaveNetLoopMaxBatch, "generate: --persistent carries at most {} streams, got --batch {}",
          kWaveNetLoopMaxBatch, B);
  }
  if (!opt.slow) {
    // Fast path (MODELS.md §9, docs/generation.md): one save pass over the newest input_size
    // samples, then one step per sample that touches each layer once.
    Tensor window = Tensor::empty({B, input_size}, DType::I64);
    for (int64_t b = 0; b < B; ++b)
      std::copy(hist[size_t(b)].end() - input_size, hist[size_t(b)].end(), window.data<int64_t>() + b * input_size);
    const Tensor onehot = one_hot_channels_first(window, model.classes(), DType::F32);
    std::optional<WaveNetStepper> ws;
    std::optional<SequnetResStepper> ss;
    Tensor saved;
    const auto t_save = Clock::now();
    const step::Weights weights = step::parse_weights(opt.weights);
    if (wavenet) {
      ws.emplace(*wavenet, weights, opt.device);
      ws->set_team_threads(opt.step_threads);
      saved = ws->save(onehot);
    } else {
      ss.emplace(*sequnet, weights, opt.device);
      ss->set_team_threads(opt.step_threads);
      saved = ss->save(onehot);
    }
    // The newest column of the save output (B, C), where the steps run: the first draw's logits.
    const Tensor first = saved.select(2, saved.size(2) - 1).to(DType::F32).to(opt.device).contiguous();
    device_api(opt.device).synchronize();
    const double save_s = std::chrono::duration<double>(Clock::now() - t_save).count();
    if (opt.verbosity >= 1)
      fmt::print("fast path on {} ({} weights, {} step thread{}): save pass over {} samples in {:.2f} s\n",
                 opt.device.str(), step::weights_name(weights), opt.step_threads, opt.step_threads == 1 ? "" : "s",
                 input_size, save_s);
    // Every draw, feed-back and step on the steppers' device (models/step/sampling.h); the same
    // Philox blocks as a host loop calling sample_categorical once per sample and stream.
    Meter meter{opt.verbosity, N};
    step::GenerateStats stats;
    auto progress = [&](int64_t done) { meter.update(done); };
    const Tensor drawn =
        opt.persistent ? ws->generate_persistent(first, N, opt.temperature, g, progress)
        : ws           ? step::generate(*ws, first, N, opt.temperature, g, opt.record, &stats, progress)
                       : step::generate(*ss, first, N, opt.temperature, g, opt.record, &stats, progress);  // (N, B)
    if (opt.verbosity >= 1 && opt.persistent)
      fmt::print("fast path: the whole loop as one persistent kernel per 4096 samples\n");
    const int64_t* d = drawn.data<int64_t>();
    for (int64_t s = 0; s < N; ++s)
      for (int64_t b = 0; b < B; ++b) hist[size_t(b)].push_back(d[s * B + b]);
    if (opt.verbosity >= 1 && stats.recordings > 0)
      fmt::print("fast path: {} recorded step phase{} replayed {} times\n", stats.recordings,
                 stats.recordings == 1 ? "" : "s", stats.replays);
    r.seconds = meter.finish();
    r.path = "fast";
  } else {
    Meter meter{opt.verbosity, N};
    Tensor window = Tensor::empty({B, input_size}, DType::I64);
    for (int64_t s = 0; s < N; ++s) {
      int64_t* w = window.data<int64_t>();
      for (int64_t b = 0; b < B; ++b)
        std::copy(hist[size_t(b)].end() - input_size, hist[size_t(b)].end(), w + b * input_size);
      Tensor logits = model.forward(Variable(window.to(opt.device)))
                          .data()
                          .to(Device::cpu())
                          .contiguous()
                          .to(DType::F32);  // (B, 256, O)
      const int64_t C = logits.size(1), O = logits.size(2);
      const float* l = logits.data<float>();
      for (int64_t b = 0; b < B; ++b)
        hist[size_t(b)].push_back(sample_categorical(l + b * C * O + (O - 1), C, O, opt.temperature, g));
      meter.update(s + 1);
    }
    r.seconds = meter.finish();
    r.path = "slow";
  }
  for (int64_t b = 0; b < B; ++b) {
    std::vector<float> x;
    for (auto it = hist[size_t(b)].end() - N; it != hist[size_t(b)].end(); ++it) x.push_back(mulaw_decode(*it));
    const std::string path = numbered(opt.out, b, B);
    write_wav_16k(path, x);
    r.files.push_back(path);
  }
  r.samples_per_second = double(N * B) / std::max(r.seconds, 1e-9);
  return r;
}

// ---- text -----------------------------------------------------------------------------------------

GenerateResult generate_text(const GenerateOptions& opt, const Checkpoint& ck, LanguageModel& lm, Generator& g) {
  check(ck.task_info.contains("vocab"), "{}: the checkpoint holds no vocabulary", ck.file.path);
  const std::vector<std::string> vocab = ck.task_info["vocab"].get<std::vector<std::string>>();
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < vocab.size(); ++i) index[vocab[i]] = int64_t(i);
  const bool word = task_spec(ck.config.task).kind == TaskKind::Words;
  const int64_t eos = index.count("<eos>") ? index["<eos>"] : 0;
  std::vector<int64_t> prime;
  if (!opt.prime.empty()) {
    check_regular_file(opt.prime, "generate: --prime");
    std::ifstream f(opt.prime, std::ios::binary);
    check(bool(f), "generate: cannot read the prime text {}", opt.prime);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string text = ss.str();
    if (word) {
      std::istringstream ls(text);
      for (std::string line; std::getline(ls, line);) {
        std::istringstream ws(line);
        for (std::string w; ws >> w;) prime.push_back(index.count(w) ? index[w] : index.count("<unk>") ? index["<unk>"] : eos);
        prime.push_back(eos);
      }
    } else {
      // char level: "\n" is the 5 symbols "<eos>"; unknown characters are skipped
      std::string t;
      for (char c : text) t += c == '\n' ? std::string("<eos>") : std::string(1, c);
      for (char c : t)
        if (index.count(std::string(1, c))) prime.push_back(index[std::string(1, c)]);
    }
  }
  if (prime.empty()) prime.push_back(word ? eos : (index.count(" ") ? index[" "] : 0));
  const bool sequnet = lm.config().model == "sequnet";
  const int64_t W = lm.input_size(ck.config.seq_len);  // TCN: seq_len; Seq-U-Net: planned
  const int64_t B = opt.batch, N = opt.samples;
  std::vector<std::vector<int64_t>> hist(size_t(B), prime);
  // The newest `len` symbols of every stream as a (B, len) batch; positions before the start of
  // the text hold the filler the model saw in training (word: <eos>; char: the first symbol).
  auto window = [&](int64_t len) {
    const int64_t have = int64_t(hist[0].size());
    Tensor in = Tensor::empty({B, len}, DType::I64);
    int64_t* p = in.data<int64_t>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < len; ++t) {
        const int64_t src = have - len + t;
        p[b * len + t] = src >= 0 ? hist[size_t(b)][size_t(src)] : (word ? eos : prime.front());
      }
    return in;
  };
  GenerateResult r;
  NoGradGuard ng;
  if (!opt.slow) {
    // Fast path: one save pass over the window the slow path would use first, then one step per
    // symbol (models/step/head_step.h). TCN: identical to the slow path. Seq-U-Net: the decimation
    // grid stays where the save put it (docs/generation.md §3b).
    const auto t_save = Clock::now();
    LanguageModelStepper st(lm, step::parse_weights(opt.weights), opt.device);
    st.set_team_threads(opt.step_threads);
    const int64_t len = sequnet ? W : std::min(W, int64_t(hist[0].size()));
    const Tensor& first = st.save(window(len));
    report_save(opt, step::parse_weights(opt.weights), len, t_save);
    // Draw, feed-back and step on the stepper's device (models/step/sampling.h), as for audio.
    Meter meter{opt.verbosity, N};
    step::GenerateStats stats;
    const Tensor drawn =
        step::generate(st, first, N, opt.temperature, g, opt.record, &stats, [&](int64_t done) { meter.update(done); });
    const int64_t* d = drawn.data<int64_t>();
    for (int64_t s = 0; s < N; ++s)
      for (int64_t b = 0; b < B; ++b) hist[size_t(b)].push_back(d[s * B + b]);
    r.seconds = meter.finish();
    r.path = "fast";
  } else {
    Meter meter{opt.verbosity, N};
    for (int64_t s = 0; s < N; ++s) {
      const int64_t have = int64_t(hist[0].size());
      Tensor logits = lm.forward(Variable(window(sequnet ? W : std::min(W, have)).to(opt.device)))
                          .data()
                          .to(Device::cpu())
                          .contiguous()
                          .to(DType::F32);
      const int64_t T = logits.size(1), V = logits.size(2);  // (B, T_out, V)
      const float* l = logits.data<float>();
      for (int64_t b = 0; b < B; ++b)
        hist[size_t(b)].push_back(sample_categorical(l + (b * T + T - 1) * V, V, 1, opt.temperature, g));
      meter.update(s + 1);
    }
    r.seconds = meter.finish();
    r.path = "slow";
  }
  for (int64_t b = 0; b < B; ++b) {
    std::string text;
    for (size_t i = 0; i < hist[size_t(b)].size(); ++i) {
      const std::string& sym = vocab[size_t(hist[size_t(b)][i])];
      if (!word) {
        text += sym;
      } else if (sym == "<eos>") {
        text += '\n';
      } else {
        if (!text.empty() && text.back() != '\n') text += ' ';
        text += sym;
      }
    }
    if (!word) {  // show the model's "<eos>" as line breaks
      // "<eos>" → newline (built by appending: GCC 12's -Wrestrict misfires on string::replace here)
      std::string lines;
      for (size_t at = 0;;) {
        const size_t pos = text.find("<eos>", at);
        lines.append(text, at, pos == std::string::npos ? std::string::npos : pos - at);
        if (pos == std::string::npos) break;
        lines.push_back('\n');
        at = pos + 5;
      }
      text = std::move(lines);
    }
    const std::string path = numbered(opt.out, b, B);
    text.push_back('\n');
    write_file_atomic(path, text, "generate");
    r.files.push_back(path);
  }
  r.samples_per_second = double(N * B) / std::max(r.seconds, 1e-9);
  return r;
}

// ---- polyphonic music -----------------------------------------------------------------------------

GenerateResult generate_music(const GenerateOptions& opt, const Checkpoint& ck, PolyMusicModel& model, Generator& g) {
  check(ends_with(opt.out, ".mid"), "generate: a music model writes MIDI; --out must end in .mid, got '{}'", opt.out);
  Tensor prime;
  if (!opt.prime.empty()) {
    MusicSet set = load_music_mat(opt.prime);
    check(!set.test.empty(), "generate: {} holds no test sequence to prime with", opt.prime);
    prime = set.test.front();
  }
  const int64_t B = opt.batch, N = opt.samples, P = prime.defined() ? prime.size(0) : 1;
  const int64_t T = P + N;
  std::vector<Tensor> rolls;
  for (int64_t b = 0; b < B; ++b) {
    Tensor r = Tensor::zeros({T, kPianoKeys});
    if (prime.defined()) r.narrow(0, 0, P).copy_(prime);  // else one silent frame starts it
    rolls.push_back(r);
  }
  const int64_t max_context = 2048;
  // Frame `have` of every roll from the logits l (B, keys): each key on with probability
  // sigmoid(logit / temperature) (greedy: logit > 0).
  auto draw_frame = [&](const float* l, int64_t have) {
    for (int64_t b = 0; b < B; ++b) {
      float* next = rolls[size_t(b)].select(0, have).data<float>();
      for (int64_t k = 0; k < kPianoKeys; ++k) {
        const double x = l[b * kPianoKeys + k];
        bool on;
        if (opt.temperature == 0) on = x > 0;
        else on = u64_to_unit_double(g.next_u64()) < 1.0 / (1.0 + std::exp(-x / opt.temperature));
        next[k] = on ? 1.0f : 0.0f;
      }
    }
  };
  GenerateResult r;
  NoGradGuard ng;
  if (!opt.slow) {
    // Fast path: save over the prime (at most max_context frames), then one step per frame.
    const auto t_save = Clock::now();
    PolyMusicStepper st(model, step::parse_weights(opt.weights), opt.device);
    st.set_team_threads(opt.step_threads);
    const int64_t len = std::min(P, max_context);
    Tensor in = Tensor::empty({B, len, kPianoKeys});
    for (int64_t b = 0; b < B; ++b) in.select(0, b).copy_(rolls[size_t(b)].narrow(0, P - len, len));
    const Tensor& first = st.save(in);
    report_save(opt, step::parse_weights(opt.weights), len, t_save);
    // Draw every key, feed the frame back and step on the stepper's device (models/step/sampling.h):
    // the same Philox blocks, in the same order, as draw_frame's next_u64 calls.
    Meter meter{opt.verbosity, N};
    step::GenerateStats stats;
    const Tensor frames = step::generate_frames(st, first, N, opt.temperature, g, opt.record, &stats,
                                                [&](int64_t done) { meter.update(done); });
    for (int64_t b = 0; b < B; ++b) rolls[size_t(b)].narrow(0, P, N).copy_(frames.select(1, b));
    r.seconds = meter.finish();
    r.path = "fast";
  } else {
    Meter meter{opt.verbosity, N};
    std::vector<float> last(size_t(B * kPianoKeys));
    for (int64_t s = 0; s < N; ++s) {
      const int64_t have = P + s, len = std::min(have, max_context);
      Tensor in = Tensor::empty({B, len, kPianoKeys});
      for (int64_t b = 0; b < B; ++b) in.select(0, b).copy_(rolls[size_t(b)].narrow(0, have - len, len));
      Tensor logits =
          model.forward(Variable(in.to(opt.device))).data().to(Device::cpu()).to(DType::F32).contiguous();  // (B, len,
                                                                                                            // 88)
      const float* l = logits.data<float>();
      for (int64_t b = 0; b < B; ++b)
        std::copy(l + (b * len + len - 1) * kPianoKeys, l + (b * len + len) * kPianoKeys, last.begin() + b * kPianoKeys);
      draw_frame(last.data(), have);
      meter.update(s + 1);
    }
    r.seconds = meter.finish();
    r.path = "slow";
  }
  for (int64_t b = 0; b < B; ++b) {
    const std::string path = numbered(opt.out, b, B);
    write_midi(path, rolls[size_t(b)]);
    const std::string svg = path.substr(0, path.size() - 4) + ".svg";
    write_roll_svg(svg, rolls[size_t(b)],
                   fmt::format("{} / {}: {} primed + {} generated steps", ck.config.task, ck.config.model,
                               prime.defined() ? P : 0, N));
    r.files.push_back(path);
    r.files.push_back(svg);
  }
  r.samples_per_second = double(N * B) / std::max(r.seconds, 1e-9);
  return r;
}

}  // namespace

GenerateResult run_generate(const GenerateOptions& opt) {
  check(opt.temperature >= 0 && std::isfinite(opt.temperature), "generate: --temperature must be >= 0, got {}",
        opt.temperature);
  check(opt.samples >= 1, "generate: --samples must be >= 1, got {}", opt.samples);
  check(opt.batch >= 1, "generate: --batch must be >= 1, got {}", opt.batch);
  // Each sequence of a batch becomes its own file (WAV, MIDI + SVG, text): bounded.
  check(opt.batch <= kMaxGenerateBatch, "generate: --batch {} would write {} output files; at most {} are allowed",
        opt.batch, opt.batch, kMaxGenerateBatch);
  check(!opt.out.empty(), "generate: give --out");
  check(opt.weights == "f32" || opt.weights == "f16" || opt.weights == "i8",
        "generate: --weights must be f32, f16 or i8, got '{}'", opt.weights);
  check(opt.step_threads >= 1, "generate: --step-threads must be >= 1, got {}", opt.step_threads);
  check(!(opt.slow && opt.weights != "f32"), "generate: --weights {} applies to the fast path; drop --slow or --weights",
        opt.weights);
  device_api(opt.device);  // fails at once, saying why, when the device cannot be used
  Checkpoint ck = load_checkpoint(opt.checkpoint);
  TaskModel tm = load_model(ck);
  if (!opt.device.is_cpu()) {
    // Every task generates on a GPU: the fast paths' step modes and draws run there; the slow
    // paths' full forwards too (music's --slow draws on the host).
    check(opt.weights == "f32", "generate --device {}: --weights {} is multiplied on the CPU only; use f32 on a GPU",
          opt.device.str(), opt.weights);
    check(opt.step_threads == 1, "generate --device {}: --step-threads splits a CPU step; drop it on a GPU",
          opt.device.str());
    tm.model->params().store_on(opt.device);
  }
  Generator g(opt.seed);
  const std::string& task = ck.config.task;
  if (opt.verbosity >= 1)
    fmt::print("generate: {} / {} from {} (epoch {}), {} steps, temperature {:g}, seed {}, batch {}\n", task,
               ck.config.model, opt.checkpoint, ck.state.epoch, opt.samples, opt.temperature, opt.seed, opt.batch);
  GenerateResult r;
  if (auto* a = dynamic_cast<AudioModel*>(tm.model.get())) r = generate_audio(opt, *a, g);
  else if (auto* lm = dynamic_cast<LanguageModel*>(tm.model.get())) r = generate_text(opt, ck, *lm, g);
  else if (auto* pm = dynamic_cast<PolyMusicModel*>(tm.model.get())) r = generate_music(opt, ck, *pm, g);
  else
    fail(fmt::format("generate: {} is a '{}' checkpoint; generation needs a model of the audio, char, word or music "
                     "tasks",
                     opt.checkpoint, task));
  if (opt.verbosity >= 1) {
    fmt::print("{} path: {:.1f} samples/s ({:.2f} s)\n", r.path, r.samples_per_second, r.seconds);
    for (const auto& f : r.files) fmt::print("wrote {}\n", f);
  }
  return r;
}

}  // namespace seqnet
