// tests/test_audio_data.cpp — the raw-audio data pipeline (train/data/audio_data.h).
//
//  * µ-law encode / decode bit-identical to refs/mulaw.safetensors (official code, float32);
//    round trips, monotonicity, silence = 128;
//  * WAV write / read round trip; non-16 kHz and stereo files rejected naming the rate / channels;
//    missing / corrupt files rejected naming the file; the real data set loads when present;
//  * audio_window: padding with 128 at both ends and the target alignment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#if SEQNET_HAVE_WAV_MAT
#include <sndfile.h>
#endif

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/paths.h"
#include "core/safetensors.h"
#include "train/data/audio_data.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace seqnet;
using seqnet::testing::error_of;
using seqnet::testing::TempDir;
using ::testing::HasSubstr;

namespace {

#if SEQNET_HAVE_WAV_MAT
void write_raw_wav(const std::string& path, int rate, int channels, int64_t frames) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  std::vector<short> data(size_t(frames * channels), 100);
  ASSERT_EQ(sf_writef_short(f, data.data(), frames), frames);
  sf_close(f);
}
#endif

}  // namespace

// ---- µ-law ---------------------------------------------------------------------------------------

TEST(MuLaw, MatchesReferenceBitForBit) {
  const std::string path = refs_dir() + "/mulaw.safetensors";
  if (!path_exists(path)) GTEST_SKIP() << "no " << path;
  const auto f = load_safetensors(path);
  const auto x = f.get("x").to_vector<float>();
  const auto encoded = f.get("encoded").to_vector<int64_t>();
  const auto codes = f.get("codes").to_vector<int64_t>();
  const auto decoded = f.get("decoded").to_vector<float>();
  ASSERT_EQ(x.size(), 256u);
  ASSERT_EQ(codes.size(), 256u);
  int enc_bad = 0, dec_bad = 0;
  for (size_t i = 0; i < 256; ++i) {
    if (mulaw_encode(x[i]) != encoded[i]) {
      ++enc_bad;
      ADD_FAILURE() << "encode x[" << i << "] = " << x[i] << ": got " << mulaw_encode(x[i]) << ", ref " << encoded[i];
    }
    const float d = mulaw_decode(codes[i]);
    if (std::memcmp(&d, &decoded[i], sizeof(float)) != 0) {
      ++dec_bad;
      ADD_FAILURE() << fmt::format("decode code {}: got {:a}, ref {:a}", codes[i], d, decoded[i]);
    }
  }
  EXPECT_EQ(enc_bad, 0);
  EXPECT_EQ(dec_bad, 0);
  // Tensor versions give the same values.
  const Tensor te = mulaw_encode(f.get("x"));
  EXPECT_EQ(te.dtype(), DType::I64);
  EXPECT_EQ(te.to_vector<int64_t>(), encoded);
  const Tensor td = mulaw_decode(f.get("codes"));
  EXPECT_EQ(td.dtype(), DType::F32);
  const auto tdv = td.to_vector<float>();
  EXPECT_EQ(std::memcmp(tdv.data(), decoded.data(), 256 * sizeof(float)), 0);
}

TEST(MuLaw, SilenceAndExtremes) {
  EXPECT_EQ(mulaw_encode(0.0f), 128);
  EXPECT_EQ(mulaw_encode(-0.0f), 128);
  EXPECT_EQ(kMulawSilence, 128);
  EXPECT_EQ(mulaw_encode(1.0f), 255);
  EXPECT_EQ(mulaw_encode(-1.0f), 0);
  EXPECT_FLOAT_EQ(mulaw_decode(255), 1.0f);
  EXPECT_FLOAT_EQ(mulaw_decode(0), -1.0f);
  EXPECT_NEAR(mulaw_decode(128), 0.0f, 1e-4f);  // 128 is just above the middle (127.5)
}

TEST(MuLaw, RoundTripsAndMonotone) {
  // code -> value -> code is the identity for every code.
  for (int64_t c = 0; c < 256; ++c) EXPECT_EQ(mulaw_encode(mulaw_decode(c)), c) << "code " << c;
  // Encoding is monotone over [-1, 1] and decode(encode(x)) is close to x (µ-law step size).
  int64_t prev = -1;
  for (int i = -32768; i <= 32767; i += 7) {
    const float x = float(i) / 32768.0f;
    const int64_t c = mulaw_encode(x);
    ASSERT_GE(c, prev) << "x " << x;
    ASSERT_GE(c, 0);
    ASSERT_LE(c, 255);
    prev = c;
    const float back = mulaw_decode(c);
    EXPECT_NEAR(back, x, 0.03f * std::fabs(x) + 2e-4f) << "x " << x;
  }
}

TEST(MuLaw, TensorVersionsCheckDtypes) {
  EXPECT_THAT(error_of([] { mulaw_encode(Tensor::zeros({3}, DType::I64)); }), HasSubstr("mulaw_encode"));
  EXPECT_THAT(error_of([] { mulaw_decode(Tensor::zeros({3}, DType::F32)); }), HasSubstr("mulaw_decode"));
  const Tensor c = mulaw_encode(Tensor::zeros({2, 3}));
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  for (auto v : c.to_vector<int64_t>()) EXPECT_EQ(v, 128);
}

// ---- WAV -----------------------------------------------------------------------------------------

#if SEQNET_HAVE_WAV_MAT
TEST(Wav, WriteReadRoundTrip) {
  TempDir tmp("audio");
  std::vector<float> sig(16000);
  for (size_t i = 0; i < sig.size(); ++i)
    sig[i] = std::nearbyint(float(0.6 * std::sin(2 * M_PI * 440.0 * double(i) / 16000.0)) * 32768.0f) / 32768.0f;
  sig[10] = -1.0f;
  const std::string p = tmp.file("sine.wav");
  write_wav_16k(p, sig);
  const auto back = read_wav_mono16k(p);
  ASSERT_EQ(back.size(), sig.size());
  for (size_t i = 0; i < sig.size(); ++i) ASSERT_EQ(back[i], sig[i]) << "sample " << i;
  // No temporary file left behind; overwriting works.
  write_wav_16k(p, {0.5f, -0.25f});
  EXPECT_EQ(read_wav_mono16k(p), (std::vector<float>{0.5f, -0.25f}));
  int n = 0;
  for (const auto& e : fs::directory_iterator(tmp.path())) n += e.is_regular_file();
  EXPECT_EQ(n, 1);
  // Out-of-range values are clipped, not wrapped.
  write_wav_16k(p, {2.0f, -2.0f});
  const auto clipped = read_wav_mono16k(p);
  EXPECT_FLOAT_EQ(clipped[0], 32767.0f / 32768.0f);
  EXPECT_FLOAT_EQ(clipped[1], -1.0f);
}

// The writer of builds without libsndfile: libsndfile reads its files back exactly, clipping and
// non-finite refusal included, and its bytes are the ones libsndfile writes.
TEST(Wav, PlainWriterRoundTripsThroughLibsndfile) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  TempDir tmp("audio");
  std::vector<float> sig(1001);
  for (size_t i = 0; i < sig.size(); ++i) sig[i] = float(int(i * 37 % 2001) - 1000) / 1024.0f;
  sig[3] = 2.0f, sig[4] = -2.0f;
  const std::string plain = tmp.file("plain.wav"), lib = tmp.file("lib.wav");
  write_wav_16k_plain(plain, sig);
  write_wav_16k(lib, sig);
  const auto back = read_wav_mono16k(plain);
  ASSERT_EQ(back.size(), sig.size());
  EXPECT_FLOAT_EQ(back[3], 32767.0f / 32768.0f);
  EXPECT_FLOAT_EQ(back[4], -1.0f);
  EXPECT_EQ(back, read_wav_mono16k(lib));
  EXPECT_EQ(seqnet::testing::read_file(plain), seqnet::testing::read_file(lib)) << "the same 44-byte header and data";
  EXPECT_THAT(seqnet::testing::error_of([&] {
                write_wav_16k_plain(plain, {0.1f, NAN});
              }),
              ::testing::HasSubstr("sample 1 is not finite"));
  EXPECT_EQ(read_wav_mono16k(plain), back) << "a refused write leaves the old file";
}

// A hand-written 16 kHz mono IEEE-float WAV holding exactly `samples` (any values, NaN included).
void write_float_wav(const std::string& path, const std::vector<float>& samples) {
  std::ofstream f(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  const uint32_t bytes = uint32_t(samples.size() * 4);
  f.write("RIFF", 4), u32(36 + bytes), f.write("WAVE", 4), f.write("fmt ", 4), u32(16), u16(3), u16(1);
  u32(16000), u32(16000 * 4), u16(4), u16(32), f.write("data", 4), u32(bytes);
  f.write(reinterpret_cast<const char*>(samples.data()), std::streamsize(bytes));
}

// Float WAVs can hold values µ-law cannot encode: refused when read, naming the file and sample.
TEST(Wav, RejectsNonFiniteAndOutOfRangeFloatSamples) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  TempDir tmp("audio");
  const std::string ok = tmp.file("ok.wav"), loud = tmp.file("loud.wav"), nan = tmp.file("nan.wav");
  write_float_wav(ok, {0.5f, -1.0f, 1.0f});
  EXPECT_EQ(read_wav_mono16k(ok).size(), 3u);
  write_float_wav(loud, {0.5f, 1.5f});
  EXPECT_THAT(error_of([&] { read_wav_mono16k(loud); }), HasSubstr("loud.wav': sample 1 is 1.5"));
  write_float_wav(nan, {0.0f, 0.0f, std::nanf("")});
  EXPECT_THAT(error_of([&] { read_wav_mono16k(nan); }), HasSubstr("nan.wav': sample 2"));
}

// A split that is digital silence everywhere would train to loss 0 and be saved as the best model.
TEST(Wav, RejectsASilentSplit) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  TempDir tmp("audio");
  write_wav_16k(tmp.file("a.wav"), std::vector<float>(100, 0.0f));
  write_wav_16k(tmp.file("b.wav"), std::vector<float>(50, 0.0f));
  EXPECT_THAT(error_of([&] { load_audio_dir(tmp.path().string()); }), HasSubstr("digital silence (2 files)"));
  write_wav_16k(tmp.file("c.wav"), {0.0f, 0.25f});
  EXPECT_EQ(load_audio_dir(tmp.path().string()).files.size(), 3u);
}

TEST(Wav, RejectsWrongRateAndChannels) {
  TempDir tmp("audio");
  const std::string r44 = tmp.file("cd.wav"), st = tmp.file("stereo.wav");
  write_raw_wav(r44, 44100, 1, 100);
  write_raw_wav(st, 16000, 2, 100);
  const std::string e1 = error_of([&] { read_wav_mono16k(r44); });
  EXPECT_THAT(e1, HasSubstr(r44));
  EXPECT_THAT(e1, HasSubstr("44100 Hz"));
  const std::string e2 = error_of([&] { read_wav_mono16k(st); });
  EXPECT_THAT(e2, HasSubstr(st));
  EXPECT_THAT(e2, HasSubstr("2 channel"));
}

TEST(Wav, MissingOrCorruptFile) {
  TempDir tmp("audio");
  const std::string missing = tmp.file("nope.wav");
  EXPECT_THAT(error_of([&] { read_wav_mono16k(missing); }), HasSubstr(missing));
  const std::string junk = tmp.file("junk.wav");
  std::ofstream(junk) << "this is not a wav file at all, just text padding padding padding";
  EXPECT_THAT(error_of([&] { read_wav_mono16k(junk); }), HasSubstr(junk));
  EXPECT_THAT(error_of([&] { write_wav_16k(tmp.file("no/such/dir/x.wav"), {0.f}); }), HasSubstr("x.wav"));
}

TEST(Wav, LoadAudioDirSortedAndEncoded) {
  TempDir tmp("audio");
  write_wav_16k(tmp.file("b.wav"), {0.0f, 0.5f});
  write_wav_16k(tmp.file("a.wav"), {-1.0f, 0.0f, 0.0f});
  std::ofstream(tmp.file("notes.txt")) << "ignored";
  const AudioSet set = load_audio_dir(tmp.path().string());
  ASSERT_EQ(set.files.size(), 2u);
  EXPECT_EQ(set.names, (std::vector<std::string>{"a.wav", "b.wav"}));
  EXPECT_EQ(set.files[0], (std::vector<int64_t>{0, 128, 128}));
  EXPECT_EQ(set.files[1], (std::vector<int64_t>{128, mulaw_encode(0.5f)}));
  EXPECT_EQ(set.total_samples(), 5);
  EXPECT_THAT(error_of([&] { load_audio_dir(tmp.file("missing")); }), HasSubstr("missing"));
  TempDir empty("audio");
  EXPECT_THAT(error_of([&] { load_audio_dir(empty.path().string()); }), HasSubstr("no .wav"));
}

TEST(Wav, RealDataLoads) {
  for (const char* split : {"train", "test"}) {
    const std::string dir = data_dir() + "/audio/" + split;
    if (!path_exists(dir)) GTEST_SKIP() << "no " << dir;
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() != ".wav") continue;
      SF_INFO info{};
      SNDFILE* f = sf_open(e.path().c_str(), SFM_READ, &info);
      ASSERT_NE(f, nullptr) << e.path();
      sf_close(f);
      EXPECT_EQ(info.samplerate, 16000) << e.path();
      EXPECT_EQ(info.channels, 1) << e.path();
      EXPECT_GT(info.frames, 16000) << e.path();
      ++files;
    }
    EXPECT_EQ(files, std::string(split) == "train" ? 11 : 3);
  }
  // The test folder loads whole through load_audio_dir (3 files, ≈ 127 s).
  const std::string dir = data_dir() + "/audio/test";
  const AudioSet set = load_audio_dir(dir);
  EXPECT_EQ(set.names, (std::vector<std::string>{"nott_test_011.wav", "nott_test_158.wav", "nott_test_169.wav"}));
  EXPECT_EQ(set.total_samples(), 2035320);  // data/README.md §4
  const auto x = read_wav_mono16k(dir + "/nott_test_169.wav");
  ASSERT_EQ(x.size(), set.files[2].size());
  float peak = 0;
  for (float v : x) peak = std::max(peak, std::fabs(v));
  EXPECT_NEAR(peak, 0.708f, 0.01f);  // files are peak-normalised to -3 dBFS
  for (const auto& codes : set.files) {
    std::vector<int> used(256, 0);
    for (auto c : codes) used[size_t(c)] = 1;
    EXPECT_GT(std::count(used.begin(), used.end(), 1), 200);  // README: 233–240 codes per file
  }
}
#else
// Built with -DSEQNET_WAV_MAT=OFF: the WAV tests above are compiled out; WAV I/O must refuse clearly.
TEST(Wav, ClearErrorWithoutLibsndfile) {
  EXPECT_THAT(error_of([] { read_wav_mono16k("in.wav"); }), HasSubstr("'in.wav': this seqnet was built without libsndfile"));
  EXPECT_THAT(error_of([] { write_wav_16k("out.wav", {0.0f}); }), HasSubstr("SEQNET_WAV_MAT=OFF"));
}
#endif

// ---- windows -------------------------------------------------------------------------------------

TEST(AudioData, WindowInsideFile) {
  std::vector<int64_t> codes(100);
  for (int i = 0; i < 100; ++i) codes[size_t(i)] = i;
  Tensor in, tg;
  audio_window(codes, 10, 20, 5, in, tg);
  ASSERT_EQ(in.shape(), (Shape{20}));
  ASSERT_EQ(tg.shape(), (Shape{5}));
  for (int64_t j = 0; j < 20; ++j) EXPECT_EQ(in.data<int64_t>()[j], 10 + j);
  // target[k] is the sample after input position I-O+k.
  for (int64_t k = 0; k < 5; ++k) EXPECT_EQ(tg.data<int64_t>()[k], in.data<int64_t>()[20 - 5 + k] + 1);
  EXPECT_EQ(tg.to_vector<int64_t>(), (std::vector<int64_t>{26, 27, 28, 29, 30}));
  // Output size == input size: targets are the input shifted by one.
  audio_window(codes, 0, 8, 8, in, tg);
  EXPECT_EQ(tg.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(AudioData, WindowPadsWithSilenceAtBothEnds) {
  const std::vector<int64_t> codes = {1, 2, 3, 4, 5};
  Tensor in, tg;
  audio_window(codes, -3, 6, 2, in, tg);  // window = 128 128 128 1 2 3 4
  EXPECT_EQ(in.to_vector<int64_t>(), (std::vector<int64_t>{128, 128, 128, 1, 2, 3}));
  EXPECT_EQ(tg.to_vector<int64_t>(), (std::vector<int64_t>{3, 4}));
  audio_window(codes, 3, 4, 3, in, tg);  // window = 4 5 128 128 128
  EXPECT_EQ(in.to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 128, 128}));
  EXPECT_EQ(tg.to_vector<int64_t>(), (std::vector<int64_t>{128, 128, 128}));
  audio_window(codes, -10, 3, 1, in, tg);  // entirely before the file
  EXPECT_EQ(in.to_vector<int64_t>(), (std::vector<int64_t>{128, 128, 128}));
  EXPECT_EQ(tg.to_vector<int64_t>(), (std::vector<int64_t>{128}));
  audio_window({}, 0, 2, 1, in, tg);  // empty file
  EXPECT_EQ(in.to_vector<int64_t>(), (std::vector<int64_t>{128, 128}));
}

TEST(AudioData, WindowReusesBuffersAndChecksSizes) {
  const std::vector<int64_t> codes = {7, 8, 9};
  Tensor in = Tensor::zeros({3}, DType::I64), tg = Tensor::zeros({2}, DType::I64);
  const Tensor in_alias = in;
  audio_window(codes, 0, 3, 2, in, tg);
  EXPECT_TRUE(in.shares_storage(in_alias));
  EXPECT_EQ(in_alias.to_vector<int64_t>(), (std::vector<int64_t>{7, 8, 9}));
  Tensor wrong = Tensor::zeros({5}, DType::F32);
  audio_window(codes, 0, 3, 2, wrong, tg);
  EXPECT_EQ(wrong.dtype(), DType::I64);
  EXPECT_EQ(wrong.shape(), (Shape{3}));
  EXPECT_THAT(error_of([&] { audio_window(codes, 0, 3, 4, in, tg); }), HasSubstr("output_size"));
  EXPECT_THAT(error_of([&] { audio_window(codes, 0, 3, 0, in, tg); }), HasSubstr("output_size"));
}
