// train/data/audio_data.cpp — see audio_data.h.
#include "train/data/audio_data.h"

#if SEQNET_HAVE_WAV_MAT
#include <sndfile.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "core/paths.h"
#include "core/atomic_file.h"
#include "core/error.h"

namespace fs = std::filesystem;

namespace seqnet {

namespace {

// SLEEF's xexpf (u10) as built for AVX2 with FMA, which PyTorch's CPU exp kernel calls for
// float32 tensors. Reproduced operation for operation so decoded values match the reference
// bit for bit (a correctly rounded expf differs by 1 ulp on some arguments). Valid for the
// arguments µ-law decoding produces (|d| <= log(qc)); out-of-range inputs fall back to std::exp.
float sleef_expf_u10(float d) {
  if (!(d > -104.f && d < 88.f)) return std::exp(d);
  const float R_LN2f = 1.442695040888963407359924681001892137426645954152985934135449406931f;
  const float L2Uf = 0.693145751953125f;
  const float L2Lf = 1.428606765330187045e-06f;
  const int q = int(std::rint(d * R_LN2f));
  const float qf = float(q);
  float s = std::fma(qf, -L2Uf, d);
  s = std::fma(qf, -L2Lf, s);
  float u = 0.000198527617612853646278381f;
  u = std::fma(u, s, 0.00139304355252534151077271f);
  u = std::fma(u, s, 0.00833336077630519866943359f);
  u = std::fma(u, s, 0.0416664853692054748535156f);
  u = std::fma(u, s, 0.166666671633720397949219f);
  u = std::fma(u, s, 0.5f);
  const float ss = s * s;
  u = 1.0f + std::fma(ss, u, s);
  return std::ldexp(u, q);
}

float sign_f(float v) { return v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f); }

void check_qc(int qc, const char* what) { check(qc >= 2, "{}: quantization channels must be >= 2, got {}", what, qc); }

#if SEQNET_HAVE_WAV_MAT
struct SndCloser {
  SNDFILE* f;
  ~SndCloser() {
    if (f) sf_close(f);
  }
};
#else
[[noreturn]] void no_sndfile(const char* what, const std::string& path) {
  fail(fmt::format("{}: '{}': this seqnet was built without libsndfile (-DSEQNET_WAV_MAT=OFF); install "
                   "libsndfile1-dev and rebuild to read or write WAV files",
                   what, path));
}
#endif

}  // namespace

// ---- µ-law ---------------------------------------------------------------------------------------

int64_t mulaw_encode(float x, int qc) {
  check_qc(qc, "mulaw_encode");
  const float mu = float(qc - 1);
  const float l1p_mu = std::log1p(mu);
  const float ax = std::fabs(x);
  const float m = mu * ax;
  const float l = std::log1p(m);
  const float num = sign_f(x) * l;
  const float y = num / l1p_mu;
  const float a = y + 1.0f;
  const float b = a / 2.0f;
  const float c = b * mu;
  const float d = c + 0.5f;
  return int64_t(d);  // truncation toward zero, as torch's .to(torch.int64)
}

float mulaw_decode(int64_t code, int qc) {
  check_qc(qc, "mulaw_decode");
  const float mu = float(qc - 1);
  const float l1p_mu = std::log1p(mu);
  const float cf = float(code);
  const float q = cf / mu;
  const float q2 = q * 2.0f;
  const float y = q2 - 1.0f;
  const float arg = std::fabs(y) * l1p_mu;
  const float e = sleef_expf_u10(arg);
  const float em1 = e - 1.0f;
  const float num = sign_f(y) * em1;
  return num / mu;
}

Tensor mulaw_encode(const Tensor& x, int qc) {
  check(x.defined() && x.device().is_cpu(), "mulaw_encode: expects a defined CPU tensor");
  check(x.dtype() == DType::F32 || x.dtype() == DType::F64, "mulaw_encode: expects a float tensor, got {}",
        x.describe());
  const Tensor xf = x.to(DType::F32).contiguous();
  Tensor out = Tensor::empty(x.shape(), DType::I64);
  const float* src = xf.data<float>();
  int64_t* dst = out.data<int64_t>();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) dst[i] = mulaw_encode(src[i], qc);
  return out;
}

Tensor mulaw_decode(const Tensor& codes, int qc) {
  check(codes.defined() && codes.device().is_cpu(), "mulaw_decode: expects a defined CPU tensor");
  check(codes.dtype() == DType::I64, "mulaw_decode: expects an i64 tensor of codes, got {}", codes.describe());
  const Tensor c = codes.contiguous();
  Tensor out = Tensor::empty(codes.shape(), DType::F32);
  const int64_t* src = c.data<int64_t>();
  float* dst = out.data<float>();
  for (int64_t i = 0, n = codes.numel(); i < n; ++i) dst[i] = mulaw_decode(src[i], qc);
  return out;
}

std::vector<int64_t> mulaw_encode(const std::vector<float>& x, int qc) {
  std::vector<int64_t> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = mulaw_encode(x[i], qc);
  return out;
}

// ---- WAV -----------------------------------------------------------------------------------------

#if SEQNET_HAVE_WAV_MAT
std::vector<float> read_wav_mono16k(const std::string& path) {
  check_regular_file(path, "read_wav_mono16k");
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (!f) throw Error(fmt::format("read_wav_mono16k: cannot open '{}': {}", path, sf_strerror(nullptr)));
  SndCloser closer{f};
  check(info.samplerate == kAudioSampleRate && info.channels == 1,
        "read_wav_mono16k: '{}' must be {} Hz mono, found {} Hz with {} channel(s)", path, kAudioSampleRate,
        info.samplerate, info.channels);
  check(info.frames >= 0, "read_wav_mono16k: '{}' reports a negative frame count", path);
  std::vector<float> out(size_t(info.frames));
  const sf_count_t got = info.frames > 0 ? sf_readf_float(f, out.data(), info.frames) : 0;
  check(got == info.frames, "read_wav_mono16k: '{}' is truncated or corrupt: read {} of {} samples ({})", path, got,
        info.frames, sf_strerror(f));
  // Float WAVs can hold anything: refuse what µ-law encoding would turn into garbage (or undefined
  // behaviour in the float → int cast), here, with the file named.
  for (size_t i = 0; i < out.size(); ++i)
    if (!std::isfinite(out[i]) || std::fabs(out[i]) > 1.0f)
      fail(fmt::format("read_wav_mono16k: '{}': sample {} is {}; samples must be finite and within [-1, 1]", path, i,
                       out[i]));
  return out;
}

void write_wav_16k(const std::string& path, const std::vector<float>& samples) {
  std::vector<short> pcm(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const float v = samples[i];
    check(std::isfinite(v), "write_wav_16k: '{}': sample {} is not finite ({})", path, i, v);
    const double s = std::nearbyint(double(v) * 32768.0);
    pcm[i] = short(std::clamp(s, -32768.0, 32767.0));
  }
  SF_INFO info{};
  info.samplerate = kAudioSampleRate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  // libsndfile writes through the temporary file's descriptor; commit() then renames it over `path`.
  AtomicFile out(path, "write_wav_16k");
  SNDFILE* f = sf_open_fd(out.fd(), SFM_WRITE, &info, /*close_desc=*/SF_FALSE);
  if (!f) throw Error(fmt::format("write_wav_16k: cannot create '{}': {}", out.temp_path(), sf_strerror(nullptr)));
  const sf_count_t n = sf_count_t(pcm.size());
  const sf_count_t wrote = n > 0 ? sf_writef_short(f, pcm.data(), n) : 0;
  const std::string werr = sf_strerror(f);
  const int cerr = sf_close(f);
  if (wrote != n || cerr != 0)
    throw Error(fmt::format("write_wav_16k: writing '{}' failed after {} of {} samples: {}", path, wrote, n, werr));
  out.commit();
}
#else
std::vector<float> read_wav_mono16k(const std::string& path) { no_sndfile("read_wav_mono16k", path); }
void write_wav_16k(const std::string& path, const std::vector<float>& samples) { write_wav_16k_plain(path, samples); }
#endif

void write_wav_16k_plain(const std::string& path, const std::vector<float>& samples) {
  // A RIFF chunk holds at most 2^32 − 1 bytes: 36 header bytes plus 2 per sample.
  check(samples.size() <= (size_t(0xffffffffu) - 36) / 2, "write_wav_16k: '{}': {} samples do not fit a WAV file", path,
        samples.size());
  std::string bytes;
  bytes.reserve(44 + 2 * samples.size());
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes.push_back(char((v >> (8 * i)) & 0xff));
  };
  auto u16 = [&](uint32_t v) {
    bytes.push_back(char(v & 0xff));
    bytes.push_back(char((v >> 8) & 0xff));
  };
  const uint32_t data_bytes = uint32_t(2 * samples.size());
  bytes += "RIFF";
  u32(36 + data_bytes);
  bytes += "WAVEfmt ";
  u32(16);                    // fmt chunk size
  u16(1);                     // PCM
  u16(1);                     // mono
  u32(kAudioSampleRate);      // samples per second
  u32(2 * kAudioSampleRate);  // bytes per second
  u16(2);                     // bytes per frame
  u16(16);                    // bits per sample
  bytes += "data";
  u32(data_bytes);
  for (size_t i = 0; i < samples.size(); ++i) {
    const float v = samples[i];
    check(std::isfinite(v), "write_wav_16k: '{}': sample {} is not finite ({})", path, i, v);
    const double s = std::nearbyint(double(v) * 32768.0);
    u16(uint32_t(uint16_t(int16_t(std::clamp(s, -32768.0, 32767.0)))));
  }
  write_file_atomic(path, bytes, "write_wav_16k");
}

// ---- data sets ------------------------------------------------------------------------------------

int64_t AudioSet::total_samples() const {
  int64_t n = 0;
  for (const auto& f : files) n += int64_t(f.size());
  return n;
}

AudioSet load_audio_dir(const std::string& dir) {
  std::error_code ec;
  check(fs::is_directory(dir, ec), "load_audio_dir: '{}' is not a folder", dir);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (ext == ".wav") names.push_back(e.path().filename().string());
  }
  check(!ec, "load_audio_dir: cannot list '{}': {}", dir, ec.message());
  check(!names.empty(), "load_audio_dir: no .wav files in '{}'", dir);
  std::sort(names.begin(), names.end());
  AudioSet set;
  for (const auto& n : names) {
    set.files.push_back(mulaw_encode(read_wav_mono16k((fs::path(dir) / n).string())));
    set.names.push_back(n);
  }
  // A split of digital silence gives a loss of 0 and would be saved as the best model: refuse it.
  bool any_sound = false;
  for (const auto& codes : set.files)
    for (const int64_t c : codes) any_sound = any_sound || c != kMulawSilence;
  check(any_sound, "load_audio_dir: every file in '{}' is digital silence ({} files); nothing to learn or evaluate",
        dir, set.files.size());
  return set;
}

void audio_window(const std::vector<int64_t>& codes, int64_t start, int64_t input_size, int64_t output_size,
                  Tensor& input_codes, Tensor& targets) {
  check(input_size >= 1 && output_size >= 1 && output_size <= input_size,
        "audio_window: need 1 <= output_size <= input_size, got input_size {} output_size {}", input_size,
        output_size);
  auto ensure = [](Tensor& t, int64_t n) {
    if (!(t.defined() && t.dtype() == DType::I64 && t.device().is_cpu() && t.is_contiguous() &&
          t.shape() == Shape{n}))
      t = Tensor::empty({n}, DType::I64);
  };
  ensure(input_codes, input_size);
  ensure(targets, output_size);
  const int64_t len = int64_t(codes.size());
  auto at = [&](int64_t j) { const int64_t p = start + j; return (p >= 0 && p < len) ? codes[size_t(p)] : kMulawSilence; };
  int64_t* in = input_codes.data<int64_t>();
  int64_t* tg = targets.data<int64_t>();
  for (int64_t j = 0; j < input_size; ++j) in[j] = at(j);
  const int64_t first = input_size + 1 - output_size;
  for (int64_t k = 0; k < output_size; ++k) tg[k] = at(first + k);
}

}  // namespace seqnet
