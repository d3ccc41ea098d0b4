// train/data/audio_data.h — raw-audio data pipeline (MODELS.md §10.5, data/README.md §4).
//
//  * 8-bit µ-law (256 classes) encode / decode, bit-identical to the official
//    `raw_audio/utils.mu_law_encoding / mu_law_expanding` run on float32 tensors in PyTorch
//    (refs/mulaw.safetensors). All arithmetic is float32 in the official operation order; the
//    decoder's exp() reproduces the AVX2+FMA SLEEF expf (1-ulp) that PyTorch's CPU kernel uses,
//    because glibc's correctly rounded expf differs from the reference in 18 of the 256 codes.
//  * 16 kHz mono WAV reading / writing through libsndfile (floats in [-1, 1], int16 / 32768).
//  * A folder of WAVs as µ-law code sequences, and training / test windows padded with
//    silence (code 128) where they run past either end of a file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace seqnet {

inline constexpr int64_t kMulawSilence = 128;  // µ-law code of 0.0 (qc = 256); also the padding value
inline constexpr int kAudioSampleRate = 16000;

// x in [-1, 1] (values outside are not clamped, as in the official code) -> code in 0..qc-1:
// y = sign(x)·log1p(µ|x|)/log1p(µ), code = trunc((y+1)/2·µ + 0.5), µ = qc − 1, float32.
int64_t mulaw_encode(float x, int qc = 256);
// code -> x: y = (code/µ)·2 − 1, x = sign(y)·(exp(|y|·log1p(µ)) − 1)/µ, float32.
float mulaw_decode(int64_t code, int qc = 256);
// Element-wise versions: any shape; encode takes F32 (or F64, converted to float first) and
// returns I64; decode takes I64 and returns F32.
Tensor mulaw_encode(const Tensor& x, int qc = 256);
Tensor mulaw_decode(const Tensor& codes, int qc = 256);
std::vector<int64_t> mulaw_encode(const std::vector<float>& x, int qc = 256);

// Reads a WAV (or any libsndfile format) that must be 16 kHz mono; samples as floats in
// [-1, 1] (PCM16: int16 / 32768, like librosa). Throws Error naming the file and the rate /
// channel count found, or libsndfile's reason when the file is missing or unreadable.
std::vector<float> read_wav_mono16k(const std::string& path);
// Writes a 16 kHz mono 16-bit PCM WAV: each sample becomes round(x·32768) clamped to the int16
// range, so floats of the form k/32768 round-trip exactly through read_wav_mono16k. Atomic:
// written to a temporary file in the same folder and renamed over `path` when complete.
void write_wav_16k(const std::string& path, const std::vector<float>& samples);
// The same file written without libsndfile: the 44-byte RIFF / WAVE header of 16-bit mono PCM at
// 16 kHz and the samples as little-endian int16. write_wav_16k is this in a build without
// libsndfile (-DSEQNET_WAV_MAT=OFF), so that such a build (the GPU bundle) still writes audio.
void write_wav_16k_plain(const std::string& path, const std::vector<float>& samples);

struct AudioSet {
  std::vector<std::string> names;             // file names (no folder), sorted
  std::vector<std::vector<int64_t>> files;    // µ-law codes (qc = 256) of each file
  int64_t total_samples() const;
};
// Every *.wav in `dir` (not recursive), sorted by file name, read with read_wav_mono16k and
// µ-law encoded. Throws Error if the folder is missing or holds no .wav file.
AudioSet load_audio_dir(const std::string& dir);

// One example: the window codes[start .. start+input_size] (input_size + 1 samples; positions
// outside the file read as 128). input_codes = window[0 .. input_size-1] (shape (input_size));
// targets = window[input_size+1-output_size .. input_size] (shape (output_size)), i.e.
// targets[k] is the sample that follows input position input_size-output_size+k.
// The outputs are reused when they are already contiguous CPU I64 tensors of the right shape,
// otherwise they are replaced by fresh tensors. Requires 1 <= output_size <= input_size.
void audio_window(const std::vector<int64_t>& codes, int64_t start, int64_t input_size, int64_t output_size,
                  Tensor& input_codes, Tensor& targets);

}  // namespace seqnet
