// train/cli/generate.h — `seqnet generate`: a trained checkpoint → audio (WAV), text, or music
// (MIDI + a piano-roll SVG), sampled autoregressively.
//
// Every sample is drawn from softmax(logits / temperature) (music: each key from
// sigmoid(logit / temperature)) with the seeded Philox generator, so the same seed gives the same
// output; temperature 0 means greedy (argmax; music: logit > 0).
//
// Every task generates through a step mode by default (models/step/: WaveNet and residual Seq-U-Net
// for raw audio, TCN and basic Seq-U-Net for text and music; docs/generation.md): one save pass
// over the prompt, then one step per new sample that touches each layer once. --slow runs a full
// forward over the newest window for every new sample instead — O(receptive field) per sample.
// TCN and WaveNet give identical outputs on both paths; for the Seq-U-Nets the slow path predicts
// at decimation-grid phase 0 every time, the step mode cycles through the phases (both are the
// model's predictions; docs/generation.md §3 and §3b).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/device.h"

namespace seqnet {

// The largest --batch: one output file per sequence, so a typo (--batch 1000000) cannot flood a folder.
constexpr int64_t kMaxGenerateBatch = 256;

struct GenerateOptions {
  std::string checkpoint;
  int64_t samples = 16000;     // new steps to generate (audio samples, characters, words, frames)
  double temperature = 1.0;    // >= 0; 0 = greedy
  uint64_t seed = 1;
  std::string prime;           // optional context: a WAV, a text file, or a .mat (its first test sequence)
  int64_t batch = 1;           // independent streams; outputs are numbered when > 1
  bool slow = false;           // the full-forward path instead of the step mode
  std::string weights = "f32";  // fast path: step-mode weights "f32" (exact), "f16" (half the memory traffic) or "i8" (a quarter)
  int step_threads = 1;         // fast path: threads splitting each step (faster on an idle machine only)
  Device device = Device::cpu();  // where the model and the steps run (audio models on cuda; text / music: cpu)
  bool record = true;             // fast path on a GPU: replay each clock phase's recorded step (CUDA graph)
  bool persistent = false;        // fast path, WaveNet on a GPU, batch <= 8: the whole loop in one persistent kernel
  std::string out;             // .wav (audio), text file (char/word), .mid (music; also writes .svg)
  std::string data_dir;        // where the checkpoint's task data lives (text: the vocabulary is in the checkpoint)
  int verbosity = 1;
};

struct GenerateResult {
  std::vector<std::string> files;  // what was written
  double seconds = 0, samples_per_second = 0;
  std::string path;                // "slow" or "fast"
};

GenerateResult run_generate(const GenerateOptions& opt);

}  // namespace seqnet
