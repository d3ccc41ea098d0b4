// tests/test_util.h — small helpers shared by several test files.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>

namespace seqnet::testing {

// Writes a PCM16 WAV of `frames` silent frames by hand (any rate / channel count), so tests can
// make files that read_wav_mono16k must refuse.
inline void write_silent_wav(const std::string& path, uint32_t rate, uint16_t channels, uint32_t frames) {
  std::ofstream f(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  const uint32_t bytes = frames * channels * 2;
  f.write("RIFF", 4), u32(36 + bytes), f.write("WAVE", 4), f.write("fmt ", 4), u32(16), u16(1), u16(channels);
  u32(rate), u32(rate * channels * 2), u16(uint16_t(channels * 2)), u16(16), f.write("data", 4), u32(bytes);
  for (uint32_t i = 0; i < frames * channels; ++i) u16(0);
}

}  // namespace seqnet::testing
