// train/cli/generate.h — `seqnet generate`: a trained checkpoint → audio (WAV), text, or music
// (MIDI + a piano-roll SVG), sampled autoregressively.
//
// Every sample is drawn from softmax(logits / temperature) (music: each key from
// sigmoid(logit / temperature)) with the seeded Philox generator, so the same seed gives the same
// output; temperature 0 means greedy (argmax; music: logit > 0).
//
// The slow path (all models) runs a full forward over the newest input_size steps for every new
// sample — exact but O(receptive field) per sample. The fast step modes of WaveNet and the
// residual Seq-U-Net (MODELS.md §9, docs/generation.md) are used for raw audio unless --slow.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

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
  bool slow = false;           // force the full-forward path
  std::string weights = "f32";  // fast path: step-mode weights "f32" (exact), "f16" (half the memory traffic) or "i8" (a quarter)
  int step_threads = 1;         // fast path: threads splitting each step (faster on an idle machine only)
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
