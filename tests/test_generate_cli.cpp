// tests/test_generate_cli.cpp — `seqnet generate` on small checkpoints made in the test (no data
// needed): the outputs of each task, seeded sampling, MIDI bytes, and the errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/device_api.h"
#include "test_util.h"
#include "train/cli/generate.h"
#include "train/data/audio_data.h"
#include "train/data/midi.h"
#include "train/loop/checkpoint.h"
#include "train/loop/trainer.h"

using namespace seqnet;
using seqnet::testing::read_file;
using seqnet::testing::TempDir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

// One folder per test process, removed when the process ends.
fs::path tmp_dir() {
  static const TempDir d("gen");
  return d.path();
}

// A checkpoint of a freshly initialised model of `task` (the weights do not matter here).
std::string make_checkpoint(const std::string& task, const std::string& model, TaskModelOptions o,
                            const nlohmann::json& info = nlohmann::json::object()) {
  TrainConfig c = TrainConfig::defaults(task, model);
  c.model_opts = o;
  Generator g(7);
  TaskModel tm = build_task_model(task, model, o, g);
  TrainState st;
  st.lr = c.lr;
  const std::string path = (tmp_dir() / fmt::format("{}_{}.safetensors", task, model)).string();
  save_checkpoint(path, c, info, *tm.model, nullptr, st);
  return path;
}

std::string char_checkpoint(const std::string& model = "tcn") {
  TaskModelOptions o;
  o.vocab = 6, o.emsize = 4, o.nhid = 8, o.levels = 2;
  return make_checkpoint("char", model, o, {{"vocab", {"a", "b", "c", " ", "<", ">"}}});
}

GenerateOptions opts(const std::string& ckpt, const std::string& out, int64_t n) {
  GenerateOptions g;
  g.checkpoint = ckpt, g.out = (tmp_dir() / out).string(), g.samples = n, g.verbosity = 0;
  return g;
}

}  // namespace

TEST(Generate, TextIsSeededAndGreedyIsDeterministic) {
  const std::string ck = char_checkpoint();
  GenerateOptions a = opts(ck, "a.txt", 40), b = opts(ck, "b.txt", 40), c = opts(ck, "c.txt", 40);
  c.seed = 99;
  run_generate(a), run_generate(b), run_generate(c);
  const std::string ta = read_file(a.out), tb = read_file(b.out), tc = read_file(c.out);
  EXPECT_EQ(ta, tb) << "same seed, same text";
  EXPECT_NE(ta, tc) << "another seed, another text";
  EXPECT_EQ(ta.size(), 1u + 40u + 1u);  // the start symbol, 40 sampled characters, a final newline
  for (char ch : ta) EXPECT_TRUE(std::string("abc <>\n").find(ch) != std::string::npos) << int(ch);
  GenerateOptions g1 = opts(ck, "g1.txt", 30), g2 = opts(ck, "g2.txt", 30);
  g1.temperature = g2.temperature = 0;
  g2.seed = 12345;
  run_generate(g1), run_generate(g2);
  EXPECT_EQ(read_file(g1.out), read_file(g2.out)) << "greedy ignores the seed";
}

TEST(Generate, TextPrimeAndBatch) {
  const std::string ck = char_checkpoint();
  const std::string prime = (tmp_dir() / "prime.txt").string();
  std::ofstream(prime) << "abc cab";
  GenerateOptions o = opts(ck, "p.txt", 10);
  o.prime = prime;
  o.batch = 2;
  GenerateResult r = run_generate(o);
  ASSERT_EQ(r.files.size(), 2u);
  for (const auto& f : r.files) EXPECT_EQ(read_file(f).rfind("abc cab", 0), 0u) << f;
}

TEST(Generate, MusicWritesMidiAndPianoRoll) {
  TaskModelOptions o;
  o.nhid = 8, o.levels = 2;
  const std::string ck = make_checkpoint("jsb", "sequnet", o);
  GenerateOptions g = opts(ck, "m.mid", 24);
  GenerateResult r = run_generate(g);
  ASSERT_EQ(r.files.size(), 2u);
  const std::string midi = read_file(r.files[0]);
  ASSERT_GE(midi.size(), 22u);
  EXPECT_EQ(midi.substr(0, 4), "MThd");
  EXPECT_EQ(midi.substr(14, 4), "MTrk");
  EXPECT_THAT(read_file(r.files[1]), HasSubstr("<svg"));
  GenerateOptions bad = opts(ck, "m.wav", 4);
  EXPECT_THAT([&] { run_generate(bad); }, ::testing::ThrowsMessage<Error>(HasSubstr(".mid")));
}

TEST(Generate, AudioWritesA16kWav) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  TaskModelOptions o;
  o.nhid = 8, o.levels = 3, o.depth = 1, o.output_size = 1;
  const std::string ck = make_checkpoint("audio", "wavenet", o);
  GenerateOptions g = opts(ck, "x.wav", 50);
  g.slow = true;
  GenerateResult r = run_generate(g);
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(read_wav_mono16k(r.files[0]).size(), 50u);
  EXPECT_EQ(r.path, "slow");
  // greedy: the WaveNet queues (fast path) pick exactly the samples a full forward picks
  GenerateOptions fast = opts(ck, "fast.wav", 50), slow = opts(ck, "slow.wav", 50);
  fast.temperature = slow.temperature = 0;
  slow.slow = true;
  fast.batch = slow.batch = 2;
  GenerateResult rf = run_generate(fast), rs = run_generate(slow);
  EXPECT_EQ(rf.path, "fast");
  ASSERT_EQ(rf.files.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(read_wav_mono16k(rf.files[i]), read_wav_mono16k(rs.files[i])) << i;
}

TEST(Generate, AudioSequnetFastPathRuns) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  TaskModelOptions o;
  o.nhid = 8, o.levels = 3, o.depth = 1, o.ksize = 3, o.output_size = 1;
  const std::string ck = make_checkpoint("audio", "sequnet_res", o);
  GenerateOptions g = opts(ck, "s.wav", 40);
  GenerateResult r = run_generate(g);
  EXPECT_EQ(r.path, "fast");
  EXPECT_EQ(read_wav_mono16k(r.files[0]).size(), 40u);
  GenerateOptions again = g;
  again.out = (tmp_dir() / "s2.wav").string();
  run_generate(again);
  EXPECT_EQ(read_wav_mono16k(r.files[0]), read_wav_mono16k(again.out)) << "same seed, same audio";
}

// --weights f16 and --step-threads go through the whole fast path; greedy, the tiny model picks the
// same samples as with float32 weights (its logits differ by ~1e-4 relative, far from any tie here).
TEST(Generate, AudioHalfWeightsAndStepThreads) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  TaskModelOptions o;
  o.nhid = 8, o.levels = 3, o.depth = 1, o.ksize = 3, o.output_size = 1;
  for (const char* model : {"wavenet", "sequnet_res"}) {
    const std::string ck = make_checkpoint("audio", model, o);
    GenerateOptions f32 = opts(ck, fmt::format("{}_f32.wav", model), 60), f16 = f32;
    f32.temperature = f16.temperature = 0;
    f16.out = (tmp_dir() / fmt::format("{}_f16.wav", model)).string();
    f16.weights = "f16";
    f16.step_threads = 2;
    GenerateResult a = run_generate(f32), b = run_generate(f16);
    EXPECT_EQ(b.path, "fast") << model;
    const std::vector<float> wa = read_wav_mono16k(a.files[0]), wb = read_wav_mono16k(b.files[0]);
    ASSERT_EQ(wb.size(), 60u) << model;
    int64_t same = 0;
    for (size_t i = 0; i < wa.size(); ++i) same += wa[i] == wb[i];
    EXPECT_GE(same, 57) << model << ": f16 and f32 greedy samples agree on only " << same << " of 60";
  }
  TaskModelOptions ao;
  ao.nhid = 8, ao.levels = 2, ao.depth = 1, ao.output_size = 1;
  GenerateOptions slow = opts(make_checkpoint("audio", "wavenet", ao), "slow16.wav", 5);
  slow.slow = true, slow.weights = "f16";
  EXPECT_THAT([&] { run_generate(slow); }, ::testing::ThrowsMessage<Error>(HasSubstr("drop --slow")));
  GenerateOptions text = opts(char_checkpoint(), "t16.txt", 5);
  text.weights = "f16";  // every task has a step mode now
  EXPECT_EQ(run_generate(text).path, "fast");
  text.weights = "bf16";
  EXPECT_THAT([&] { run_generate(text); }, ::testing::ThrowsMessage<Error>(HasSubstr("'bf16'")));
}

// --weights i8 goes through the whole fast path of both audio models (int8 step weights).
TEST(Generate, AudioInt8Weights) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  TaskModelOptions o;
  o.nhid = 8, o.levels = 3, o.depth = 1, o.ksize = 3, o.output_size = 1;
  for (const char* model : {"wavenet", "sequnet_res"}) {
    GenerateOptions i8 = opts(make_checkpoint("audio", model, o), fmt::format("{}_i8.wav", model), 40);
    i8.weights = "i8";
    GenerateResult r = run_generate(i8);
    EXPECT_EQ(r.path, "fast") << model;
    EXPECT_EQ(read_wav_mono16k(r.files[0]).size(), 40u) << model;
  }
}

TEST(Generate, MidiBytesOfAKnownRoll) {
  Tensor roll = Tensor::zeros({3, 88});
  roll.select(0, 0).select(0, 39).fill_(1.0);  // middle C (60) for two steps
  roll.select(0, 1).select(0, 39).fill_(1.0);
  const std::string b = midi_bytes(roll);
  // header: MThd, length 6, format 0, 1 track, 480 ticks per quarter
  EXPECT_EQ(b.substr(0, 14), std::string("MThd\0\0\0\x06\0\0\0\x01\x01\xe0", 14));
  // note on 60 at tick 0, note off 60 after 2 eighth notes = 480 ticks (VLQ 0x83 0x60)
  EXPECT_NE(b.find(std::string("\x00\x90\x3c\x50", 4)), std::string::npos);
  EXPECT_NE(b.find(std::string("\x83\x60\x80\x3c\x00", 5)), std::string::npos);
  EXPECT_EQ(b.substr(b.size() - 3), std::string("\xff\x2f\x00", 3));
}

TEST(Generate, BadInputIsRefusedClearly) {
  const std::string ck = char_checkpoint();
  GenerateOptions t = opts(ck, "t.txt", 5);
  t.temperature = -1;
  EXPECT_THAT([&] { run_generate(t); }, ::testing::ThrowsMessage<Error>(HasSubstr("--temperature")));
  GenerateOptions huge = opts(ck, "h.txt", 5);
  huge.batch = 1000000;  // one file per sequence: refused before anything is written
  EXPECT_THAT([&] { run_generate(huge); }, ::testing::ThrowsMessage<Error>(HasSubstr("--batch 1000000")));
  TaskModelOptions o;
  o.nhid = 4, o.levels = 2;
  const std::string copy = make_checkpoint("copy", "tcn", o);
  GenerateOptions c = opts(copy, "c.txt", 5);
  EXPECT_THAT([&] { run_generate(c); }, ::testing::ThrowsMessage<Error>(HasSubstr("'copy' checkpoint")));
  GenerateOptions m = opts("/nonexistent/ck.safetensors", "c.txt", 5);
  EXPECT_THAT([&] { run_generate(m); }, ::testing::ThrowsMessage<Error>(HasSubstr("/nonexistent/ck.safetensors")));
  TaskModelOptions ao;
  ao.nhid = 8, ao.levels = 2, ao.depth = 1, ao.output_size = 1;
  const std::string audio = make_checkpoint("audio", "wavenet", ao);
  // --persistent: the WaveNet's GPU loop only, at most 8 streams
  GenerateOptions p = opts(audio, "p.wav", 5);
  p.persistent = true;
  EXPECT_THAT([&] { run_generate(p); }, ::testing::ThrowsMessage<Error>(HasSubstr("give --device cuda")));
  p.slow = true;
  EXPECT_THAT([&] { run_generate(p); }, ::testing::ThrowsMessage<Error>(HasSubstr("not go with --slow")));
  TaskModelOptions so;
  so.nhid = 8, so.levels = 3, so.depth = 1, so.ksize = 3, so.output_size = 1;
  GenerateOptions ps = opts(make_checkpoint("audio", "sequnet_res", so), "ps.wav", 5);
  ps.persistent = true;
  EXPECT_THAT([&] { run_generate(ps); }, ::testing::ThrowsMessage<Error>(HasSubstr("the WaveNet's loop only")));
  if (device_available(Device::cuda(0))) {
    GenerateOptions pb = opts(audio, "pb.wav", 5);
    pb.persistent = true, pb.device = Device::cuda(0), pb.batch = 9;
    EXPECT_THAT([&] { run_generate(pb); },
                ::testing::ThrowsMessage<Error>(HasSubstr("at most 8 streams, got --batch 9")));
  }
  // a WAV prime that is not 16 kHz mono
  if (!seqnet::testing::kHaveWavMat) return;  // -DSEQNET_WAV_MAT=OFF: no WAV reading at all
  const std::string wav = (tmp_dir() / "stereo.wav").string();
  seqnet::testing::write_silent_wav(wav, 8000, 2, 10);
  GenerateOptions a = opts(audio, "a.wav", 5);
  a.prime = wav;
  EXPECT_THAT([&] { run_generate(a); }, ::testing::ThrowsMessage<Error>(HasSubstr("8000")));
}

// `seqnet generate --device cuda` (skipped without a GPU): the same checkpoint, seed and options
// write the same audio on the GPU as on the CPU (every draw, feed-back and step on the device;
// the draws use the same Philox blocks), greedy and sampled, for both audio models, with and
// without recorded step phases.
TEST(Generate, AudioOnTheGpuWritesTheCpuAudio) {
  SEQNET_SKIP_WITHOUT_GPU();
  TaskModelOptions w;
  w.nhid = 8, w.levels = 3, w.depth = 1, w.output_size = 1;
  TaskModelOptions s;
  s.nhid = 8, s.levels = 3, s.depth = 1, s.ksize = 3, s.output_size = 1;
  // (Sampled: 60 samples, so that a draw landing within float rounding of a class boundary, where
  // the devices may differ by design, is unlikely: about 1e-5 per draw here.)
  for (const auto& [model, o] : {std::pair{std::string("wavenet"), w}, std::pair{std::string("sequnet_res"), s}})
    for (double T : {0.0, 1.0}) {
      const std::string ck = make_checkpoint("audio", model, o);
      const int64_t n = T == 0 ? 300 : 60;
      GenerateOptions cpu = opts(ck, model + "_cpu.wav", n), gpu = opts(ck, model + "_gpu.wav", n);
      GenerateOptions queued = opts(ck, model + "_gpu_q.wav", n), persistent = opts(ck, model + "_gpu_p.wav", n);
      cpu.temperature = gpu.temperature = queued.temperature = persistent.temperature = T;
      cpu.batch = gpu.batch = queued.batch = persistent.batch = 2;
      gpu.device = queued.device = persistent.device = seqnet::testing::test_gpu();
      queued.record = false;
      persistent.persistent = true;
      const GenerateResult a = run_generate(cpu), b = run_generate(gpu), c = run_generate(queued);
      ASSERT_EQ(b.files.size(), 2u);
      for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(read_file(b.files[i]), read_file(a.files[i])) << model << " temperature " << T << " stream " << i;
        EXPECT_EQ(read_file(c.files[i]), read_file(b.files[i])) << model << " queued vs recorded, stream " << i;
      }
      if (model == "wavenet" && seqnet::testing::gpu_is_real()) {  // the WaveNet's loop as one persistent kernel
        const GenerateResult d = run_generate(persistent);
        for (size_t i = 0; i < 2; ++i)
          EXPECT_EQ(read_file(d.files[i]), read_file(a.files[i])) << "persistent, temperature " << T << " stream " << i;
      }
    }
}

// `seqnet generate --device cuda` on checkpoint ck writes the file the CPU writes, byte for byte,
// through the fast path (the step mode and the draws on the device).
void expect_gpu_writes_the_cpu_file(const std::string& ck, const std::string& ext, int64_t n, const char* what) {
  GenerateOptions cpu = opts(ck, "cpu" + ext, n), gpu = opts(ck, "gpu" + ext, n);
  gpu.device = seqnet::testing::test_gpu();
  const GenerateResult a = run_generate(cpu), b = run_generate(gpu);
  EXPECT_EQ(b.path, "fast") << what;
  EXPECT_EQ(read_file(b.files[0]), read_file(a.files[0])) << what;
}

// The char TCN and Seq-U-Net on the GPU write the CPU's text.
TEST(Generate, TextOnTheGpuWritesTheCpuText) {
  SEQNET_SKIP_WITHOUT_GPU();
  for (const char* model : {"tcn", "sequnet"})
    expect_gpu_writes_the_cpu_file(char_checkpoint(model), ".txt", 80, model);
}

// The music models on the GPU write the CPU's MIDI file.
TEST(Generate, MusicOnTheGpuWritesTheCpuMidi) {
  SEQNET_SKIP_WITHOUT_GPU();
  for (const char* model : {"tcn", "sequnet"}) {
    TaskModelOptions o;
    o.nhid = 8, o.levels = 2;
    expect_gpu_writes_the_cpu_file(make_checkpoint("jsb", model, o), ".mid", 30, model);
  }
}

// Without a GPU (or without the CUDA backend), --device cuda stops at once and says why.
TEST(Generate, DeviceCudaWithoutAGpuSaysWhy) {
  if (device_available(Device::cuda(0))) GTEST_SKIP() << "a GPU is visible";
  GenerateOptions g = opts(char_checkpoint(), "nogpu.txt", 5);
  g.device = Device::cuda(0);
  const std::string e = seqnet::testing::error_of([&] { run_generate(g); });
  EXPECT_TRUE(e.find("no GPU is visible") != std::string::npos || e.find("no CUDA backend") != std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(g.out)) << "nothing is written";
}
