// bench/bench_util.h — timing helpers shared by the bench/ programs (header-only).
#pragma once
#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace seqnet::bench {

// Median wall time in seconds of `repeats` calls of f, after `warmup` untimed calls.
template <class F>
double median_seconds(F&& f, int repeats, int warmup = 2) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct GemmShape {
  std::string name;
  long M = 0, N = 0, K = 0;
  long c_in = 0, kernel = 0, batch = 0;  // conv-like shapes only (0 otherwise)
};

// Parses ../shared/baselines/gemm_shapes.txt ("name M N K [C_in kernel batch]", # comments).
inline std::vector<GemmShape> parse_gemm_shapes(std::istream& in) {
  std::vector<GemmShape> out;
  std::string line;
  while (std::getline(in, line)) {
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream ls(line);
    GemmShape s;
    if (!(ls >> s.name >> s.M >> s.N >> s.K)) continue;
    ls >> s.c_in >> s.kernel >> s.batch;
    out.push_back(s);
  }
  return out;
}

// The shapes of gemm_shapes.txt as of this writing, used when ../shared is absent.
inline const char* kEmbeddedGemmShapes = R"(sq256 256 256 256
sq512 512 512 512
sq768 768 768 768
sq1024 1024 1024 1024
sq1536 1536 1536 1536
sq2048 2048 2048 2048
jsb_tcn_conv 220 59 660 220 3 1
nott_sequnet_top 150 256 750 150 5 1
nott_tcn_conv 215 253 1075 215 5 1
char_sequnet_top 390 6352 1170 390 3 16
char_tcn_conv 600 6400 1800 600 3 16
word_tcn_conv 600 1872 1800 600 3 16
word_decoder 10000 1872 600
wavenet_filter 128 30000 256 128 2 1
wavenet_skip 512 30000 128 128 1 1
sequnet_aud_top 180 34000 900 180 5 1
sequnet_aud_up 180 34000 1800 360 5 1
)";

inline std::vector<GemmShape> load_gemm_shapes(const std::string& path, std::string& source) {
  std::ifstream f(path);
  if (f) {
    source = path;
    return parse_gemm_shapes(f);
  }
  source = "embedded copy (" + path + " not found)";
  std::istringstream s(kEmbeddedGemmShapes);
  return parse_gemm_shapes(s);
}

}  // namespace seqnet::bench
