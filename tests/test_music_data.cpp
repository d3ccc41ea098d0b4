// tests/test_music_data.cpp — polyphonic-music piano rolls (train/data/music_data.h).
//
//  * each of the four .mat files loads when present, with the split sizes of MODELS.md §10.2,
//    88 columns, values in {0, 1} and the step totals / length ranges of data/README.md §3;
//  * missing / non-MAT files are rejected naming the file; input/target split of a sequence.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/paths.h"
#include "train/data/music_data.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace seqnet;
using ::testing::HasSubstr;

namespace {

struct Expected {
  const char* file;
  size_t train, valid, test;
  int64_t train_steps, valid_steps, test_steps;
  int64_t train_min, train_max;
};

void check_split(const std::vector<Tensor>& seqs, size_t count, int64_t steps, const char* what) {
  ASSERT_EQ(seqs.size(), count) << what;
  int64_t total = 0;
  for (const auto& s : seqs) {
    ASSERT_EQ(s.dim(), 2) << what;
    ASSERT_EQ(s.size(1), 88) << what;
    ASSERT_EQ(s.dtype(), DType::F32) << what;
    ASSERT_TRUE(s.is_contiguous());
    const float* p = s.data<float>();
    for (int64_t i = 0; i < s.numel(); ++i) ASSERT_TRUE(p[i] == 0.f || p[i] == 1.f) << what;
    total += s.size(0);
  }
  EXPECT_EQ(total, steps) << what;
}

class MusicDataFiles : public ::testing::TestWithParam<Expected> {};

}  // namespace

TEST_P(MusicDataFiles, LoadsWithPaperSplitSizes) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  const Expected e = GetParam();
  const std::string path = data_dir() + "/music/" + e.file;
  if (!path_exists(path)) GTEST_SKIP() << "no " << path;
  const MusicSet set = load_music_mat(path);
  check_split(set.train, e.train, e.train_steps, "train");
  check_split(set.valid, e.valid, e.valid_steps, "valid");
  check_split(set.test, e.test, e.test_steps, "test");
  int64_t lo = INT64_MAX, hi = 0;
  for (const auto& s : set.train) lo = std::min(lo, s.size(0)), hi = std::max(hi, s.size(0));
  EXPECT_EQ(lo, e.train_min);
  EXPECT_EQ(hi, e.train_max);
}

// Counts and step totals from MODELS.md §10.2 and data/README.md §3.
INSTANTIATE_TEST_SUITE_P(MusicData, MusicDataFiles,
                         ::testing::Values(Expected{"JSB_Chorales.mat", 229, 76, 77, 13807, 4602, 4725, 25, 129},
                                         Expected{"Nottingham.mat", 694, 173, 170, 176561, 45513, 44463, 40, 1788},
                                         Expected{"MuseData.mat", 524, 135, 124, 245202, 82755, 64339, 9, 3457},
                                         Expected{"Piano_midi.mat", 87, 12, 25, 75911, 8540, 19036, 111, 3857}),
                         [](const ::testing::TestParamInfo<Expected>& i) {
                           std::string n = i.param.file;
                           return n.substr(0, n.find('.'));
                         });

TEST(MusicData, JsbKeyRangeIsMidi43To96) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  const std::string path = data_dir() + "/music/JSB_Chorales.mat";
  if (!path_exists(path)) GTEST_SKIP() << "no " << path;
  const MusicSet set = load_music_mat(path);
  std::vector<int> used(88, 0);
  for (const auto* split : {&set.train, &set.valid, &set.test})
    for (const auto& s : *split)
      for (int64_t t = 0; t < s.size(0); ++t)
        for (int64_t j = 0; j < 88; ++j) used[size_t(j)] |= s.data<float>()[t * 88 + j] != 0.f;
  // README: JSB uses columns 22..75 (= MIDI 43..96): row-major (T, 88) layout, not transposed.
  int first = 0, last = 87;
  while (!used[size_t(first)]) ++first;
  while (!used[size_t(last)]) --last;
  EXPECT_EQ(first, 22);
  EXPECT_EQ(last, 75);
}

TEST(MusicData, MissingAndInvalidFiles) {
  const std::string missing = "/nonexistent/seqnet/none.mat";
  try {
    load_music_mat(missing);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(missing));
  }
  const fs::path junk = fs::temp_directory_path() / fmt::format("seqnet_music_{}.mat", ::getpid());
  std::ofstream(junk) << std::string(200, 'x');
  try {
    load_music_mat(junk.string());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(junk.string()));
  }
  fs::remove(junk);
}

// A .mat file missing its tail used to load (matio fills a cut compressed element) and train on
// made-up data: every cut is refused as truncated, naming the file.
TEST(MusicData, TruncatedFilesAreRefused) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  const std::string path = data_dir() + "/music/JSB_Chorales.mat";
  if (!path_exists(path)) GTEST_SKIP() << "no " << path;
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const fs::path cut = fs::temp_directory_path() / fmt::format("seqnet_cut_{}.mat", ::getpid());
  for (size_t drop : {size_t(1), size_t(7), size_t(100), bytes.size() / 2, bytes.size() - 130}) {
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - drop);
    try {
      load_music_mat(cut.string());
      ADD_FAILURE() << "a file missing its last " << drop << " bytes loaded";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("truncated")) << drop;
      EXPECT_THAT(e.what(), HasSubstr(cut.string()));
    }
  }
  fs::remove(cut);
}

TEST(MusicData, InputTargetShift) {
  Tensor seq = Tensor::zeros({4, 88});
  for (int64_t t = 0; t < 4; ++t) seq.data<float>()[t * 88 + t] = 1.f;
  Tensor in, tg;
  music_input_target(seq, in, tg);
  ASSERT_EQ(in.shape(), (Shape{3, 88}));
  ASSERT_EQ(tg.shape(), (Shape{3, 88}));
  for (int64_t t = 0; t < 3; ++t) {
    EXPECT_EQ(in.at<float>({t, t}), 1.f);
    EXPECT_EQ(tg.at<float>({t, t + 1}), 1.f);
  }
  EXPECT_THROW(music_input_target(Tensor::zeros({1, 88}), in, tg), Error);
}
