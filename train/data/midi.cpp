#include "train/data/midi.h"

#include <cstdio>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"

namespace seqnet {
namespace {

constexpr int kTicksPerQuarter = 480, kTicksPerStep = 240, kLowestNote = 21;

void put_be(std::string& s, uint32_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) s += char((v >> (8 * i)) & 0xff);
}
// MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last.
void put_vlq(std::string& s, uint32_t v) {
  char buf[5];
  int n = 0;
  buf[n++] = char(v & 0x7f);
  while (v >>= 7) buf[n++] = char((v & 0x7f) | 0x80);
  while (n) s += buf[--n];
}

std::vector<std::vector<bool>> on_matrix(const Tensor& roll) {
  check(roll.dim() == 2 && roll.size(1) == 88, "piano roll: expected (T, 88), got {}", roll.describe());
  const auto v = roll.contiguous().to(DType::F64).to_vector<double>();
  std::vector<std::vector<bool>> on(size_t(roll.size(0)), std::vector<bool>(88));
  for (int64_t t = 0; t < roll.size(0); ++t)
    for (int k = 0; k < 88; ++k) on[size_t(t)][size_t(k)] = v[size_t(t * 88 + k)] > 0.5;
  return on;
}

}  // namespace

std::string midi_bytes(const Tensor& roll) {
  const auto on = on_matrix(roll);
  std::string track;
  put_vlq(track, 0);
  track += "\xff\x51\x03";  // tempo: 500 000 µs per quarter = 120 bpm
  put_be(track, 500000, 3);
  uint32_t last_tick = 0;
  auto event = [&](uint32_t tick, uint8_t status, uint8_t note, uint8_t vel) {
    put_vlq(track, tick - last_tick);
    last_tick = tick;
    track += char(status), track += char(note), track += char(vel);
  };
  const size_t T = on.size();
  for (size_t t = 0; t <= T; ++t) {
    const uint32_t tick = uint32_t(t) * kTicksPerStep;
    for (int k = 0; k < 88; ++k) {  // offs first, then ons, at each step boundary
      const bool prev = t > 0 && on[t - 1][size_t(k)], cur = t < T && on[t][size_t(k)];
      if (prev && !cur) event(tick, 0x80, uint8_t(kLowestNote + k), 0);
    }
    for (int k = 0; k < 88; ++k) {
      const bool prev = t > 0 && on[t - 1][size_t(k)], cur = t < T && on[t][size_t(k)];
      if (cur && !prev) event(tick, 0x90, uint8_t(kLowestNote + k), 80);
    }
  }
  put_vlq(track, uint32_t(T) * kTicksPerStep - last_tick);
  track += "\xff\x2f";
  track += char(0);
  std::string s = "MThd";
  put_be(s, 6, 4), put_be(s, 0, 2), put_be(s, 1, 2), put_be(s, kTicksPerQuarter, 2);
  s += "MTrk";
  put_be(s, uint32_t(track.size()), 4);
  return s + track;
}

void write_midi(const std::string& path, const Tensor& roll) { write_file_atomic(path, midi_bytes(roll), "generate"); }

void write_roll_svg(const std::string& path, const Tensor& roll, const std::string& title) {
  const auto on = on_matrix(roll);
  const double cw = std::max(2.0, std::min(12.0, 900.0 / double(std::max<size_t>(on.size(), 1)))), ch = 5;
  const double W = 60 + cw * double(on.size()) + 10, H = 40 + 88 * ch + 30;
  std::string s = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
                              "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" "
                              "fill=\"white\"/>\n<text x=\"60\" y=\"22\" font-size=\"14\">{}</text>\n",
                              W, H, title);
  for (int k = 0; k < 88; ++k) {  // black keys shaded
    const int pc = (kLowestNote + k) % 12;
    if (pc == 1 || pc == 3 || pc == 6 || pc == 8 || pc == 10)
      s += fmt::format("<rect x=\"60\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\" fill=\"#f2f2f2\"/>\n",
                       40 + (87 - k) * ch, cw * double(on.size()), ch);
    if (pc == 0)
      s += fmt::format("<text x=\"54\" y=\"{:.1f}\" text-anchor=\"end\">C{}</text>\n", 40 + (88 - k) * ch,
                       (kLowestNote + k) / 12 - 1);
  }
  for (size_t t = 0; t < on.size(); ++t)
    for (int k = 0; k < 88; ++k)
      if (on[t][size_t(k)])
        s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\" fill=\"#1f4e9c\"/>\n",
                         60 + cw * double(t), 40 + (87 - k) * ch, cw, ch);
  s += fmt::format("<text x=\"60\" y=\"{:.0f}\">time steps (eighth notes): {}</text>\n</svg>\n", H - 8, on.size());
  write_file_atomic(path, s, "generate");
}

}  // namespace seqnet
