// PTB word / char loaders (real data when present), batchify, windowing and error cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/paths.h"
#include "train/data/text_data.h"
#include "tests/test_util.h"

using namespace seqnet;
using seqnet::testing::error_of;
using ::testing::HasSubstr;

namespace {

std::string ptb_dir() { return data_dir() + "/ptb"; }

#define SKIP_WITHOUT_PTB()                                                                  \
  do {                                                                                      \
    if (!path_exists(ptb_dir() + "/train.txt"))                                             \
      GTEST_SKIP() << "data not found at " << ptb_dir() << " (set SEQNET_DATA)";            \
  } while (0)

// One shared load per process (PTB train is ~5 MB).
const TextCorpus& words() {
  static TextCorpus c = load_ptb_words(ptb_dir());
  return c;
}
const TextCorpus& chars() {
  static TextCorpus c = load_ptb_chars(ptb_dir());
  return c;
}

Tensor ids(std::vector<int64_t> v) {
  int64_t n = int64_t(v.size());
  return Tensor::from_vector(v, {n});
}

// A temporary folder with the three split files.
struct TempCorpus {
  seqnet::testing::TempDir tmp{"text"};
  std::filesystem::path dir = tmp.path();
  TempCorpus(const std::string& train, const std::string& valid, const std::string& test) {
    write("train.txt", train);
    write("valid.txt", valid);
    write("test.txt", test);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
  }
};

}  // namespace

// ---- real data ------------------------------------------------------------------------------

TEST(TextDataPTB, WordVocabularyAndTokenCounts) {
  SKIP_WITHOUT_PTB();
  const TextCorpus& c = words();
  EXPECT_EQ(c.vocab.size(), 10000);
  EXPECT_EQ(c.train.dtype(), DType::I64);
  EXPECT_EQ(c.train.shape(), (Shape{929589}));
  EXPECT_EQ(c.valid.shape(), (Shape{73760}));
  EXPECT_EQ(c.test.shape(), (Shape{82430}));
  // First appearance order over train: " aer banknote berlitz ..."
  EXPECT_EQ(c.vocab.symbols[0], "aer");
  EXPECT_EQ(c.vocab.symbols[1], "banknote");
  EXPECT_EQ(c.vocab.id("berlitz"), 2);
  EXPECT_EQ(decode(c.vocab, c.train.narrow(0, 0, 3), " "), "aer banknote berlitz");
  EXPECT_EQ(decode(c.vocab, c.valid.narrow(0, 0, 5), " "), "consumers may want to move");
  EXPECT_EQ(decode(c.vocab, c.test.narrow(0, 0, 5), " "), "no it was n't black");
  EXPECT_EQ(decode(c.vocab, c.test.narrow(0, c.test.numel() - 6, 6), " "), "see them here with us <eos>");
  // Every id is in range; the vocabulary index is consistent with the symbol list.
  for (int64_t i = 0; i < c.vocab.size(); ++i) ASSERT_EQ(c.vocab.id(c.vocab.symbols[size_t(i)]), i);
  // Exactly one <eos> per line: 42,068 / 3,370 / 3,761.
  auto count_eos = [&](const Tensor& t) {
    int64_t eos = c.vocab.id("<eos>"), n = 0;
    const int64_t* p = t.data<int64_t>();
    for (int64_t i = 0; i < t.numel(); ++i) n += p[i] == eos;
    return n;
  };
  EXPECT_EQ(count_eos(c.train), 42068);
  EXPECT_EQ(count_eos(c.valid), 3370);
  EXPECT_EQ(count_eos(c.test), 3761);
}

TEST(TextDataPTB, WordBatchifyShapes) {
  SKIP_WITHOUT_PTB();
  const TextCorpus& c = words();
  EXPECT_EQ(batchify(c.train, 16).shape(), (Shape{16, 58099}));
  EXPECT_EQ(batchify(c.valid, 16).shape(), (Shape{16, 4610}));
  EXPECT_EQ(batchify(c.test, 16).shape(), (Shape{16, 5151}));
}

TEST(TextDataPTB, CharAlphabetAndStreamLengths) {
  SKIP_WITHOUT_PTB();
  const TextCorpus& c = chars();
  // data README §2: "\n" -> "<eos>", so 49 symbols (MODELS.md §10.3; an older spec said 50).
  std::string order;
  for (const auto& s : c.vocab.symbols) {
    ASSERT_EQ(s.size(), 1u);
    order += s;
  }
  EXPECT_EQ(c.vocab.size(), 49);
  EXPECT_EQ(order, " aerbnkotlizcwyusfmghd-qpx<>Njv.'1950&$324867#\\/*");
  std::string sorted = order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, " #$&'*-./0123456789<>N\\abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(c.vocab.index.count("\n"), 0u);

  EXPECT_EQ(c.train.shape(), (Shape{5269890}));  // 5,101,618 + 4 × 42,068
  EXPECT_EQ(c.valid.shape(), (Shape{413262}));
  EXPECT_EQ(c.test.shape(), (Shape{464989}));
  EXPECT_EQ(batchify(c.train, 16).shape(), (Shape{16, 329368}));
  EXPECT_EQ(batchify(c.valid, 1).shape(), (Shape{1, 413262}));
  EXPECT_EQ(batchify(c.test, 1).shape(), (Shape{1, 464989}));

  std::string head = decode(c.vocab, c.train.narrow(0, 0, 60));
  EXPECT_EQ(head, " aer banknote berlitz calloway centrust cluett fromstein git");
  std::string tail = decode(c.vocab, c.train.narrow(0, c.train.numel() - 28, 28));
  EXPECT_EQ(tail, "according to mr. <unk> <eos>");
}

TEST(TextDataPTB, CharStreamDecodesToSourceText) {
  SKIP_WITHOUT_PTB();
  const TextCorpus& c = chars();
  std::ifstream f(ptb_dir() + "/valid.txt", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(decode(c.vocab, c.valid), ptb_char_text(raw));
  EXPECT_THAT(decode(c.vocab, c.valid.narrow(0, 0, 40)), " consumers may want to move their teleph");
}

TEST(TextDataPTB, CharWindowCountsOfficialConfig) {
  SKIP_WITHOUT_PTB();
  // train [16, 329368], seq_len 400, validseqlen 320: starts 0, 320, ... with i + 400 < L.
  int64_t L = 329368;
  auto s = window_starts(L, 400, 320);
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back() + 400 < L, true);
  EXPECT_GE(s.back() + 320 + 400, L);
  EXPECT_EQ(int64_t(s.size()), (L - 400 - 1) / 320 + 1);
}

// ---- small synthetic corpora --------------------------------------------------------------

TEST(TextDataLoad, WordTokenisationFirstAppearanceOrder) {
  TempCorpus t(" b a b \n c\ta \n", " d a \n", " e\n");
  TextCorpus c = load_ptb_words(t.dir.string());
  EXPECT_THAT(c.vocab.symbols, ::testing::ElementsAre("b", "a", "<eos>", "c", "d", "e"));
  EXPECT_EQ(c.train.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0, 2, 3, 1, 2}));
  EXPECT_EQ(c.valid.to_vector<int64_t>(), (std::vector<int64_t>{4, 1, 2}));
  EXPECT_EQ(c.test.to_vector<int64_t>(), (std::vector<int64_t>{5, 2}));
}

TEST(TextDataLoad, CharEosReplacementAndAlphabet) {
  TempCorpus t(" ab \n", " c\n", " a\n");
  TextCorpus c = load_ptb_chars(t.dir.string());
  EXPECT_EQ(decode(c.vocab, c.train), " ab <eos>");
  EXPECT_EQ(decode(c.vocab, c.valid), " c<eos>");
  EXPECT_EQ(decode(c.vocab, c.test), " a<eos>");
  std::string order;
  for (const auto& s : c.vocab.symbols) order += s;
  EXPECT_EQ(order, " ab<eos>c");  // '<','e','o','s','>' in first-appearance order
  EXPECT_EQ(c.vocab.size(), 9);
}

// Text that is not UTF-8 is refused when read, with the file, byte and line: its vocabulary could
// not be written to a checkpoint (JSON), which used to fail only after a whole epoch.
TEST(TextDataLoad, InvalidUtf8IsRefusedWithItsOffset) {
  TempCorpus ok(" caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xB5 \n", " a \n", " b \n");  // é € 🎵
  EXPECT_NO_THROW(load_ptb_words(ok.dir.string()));  // (characters must be ASCII anyway)
  for (const std::string& bad : {std::string(" a \n b\xFF \n"), std::string(" a \n b\xC3 \n"),
                                std::string(" a \n b\xC0\xAF \n"), std::string(" a \n b\xED\xA0\x80 \n")}) {
    TempCorpus t(bad, " a \n", " b \n");
    const std::string e = error_of([&] { load_ptb_words(t.dir.string()); });
    EXPECT_THAT(e, HasSubstr("train.txt' is not valid UTF-8 at byte 6 (line 2)")) << e;
  }
}

TEST(TextDataLoad, ErrorsNameTheFile) {
  TempCorpus t(" a \n", "", " b \n");
  EXPECT_THAT(error_of([&] { load_ptb_words(t.dir.string()); }), HasSubstr("valid.txt' is empty"));
  EXPECT_THAT(error_of([&] { load_ptb_chars(t.dir.string()); }), HasSubstr("valid.txt' is empty"));
  std::filesystem::remove(t.dir / "test.txt");
  t.write("valid.txt", " c \n");
  std::string e = error_of([&] { load_ptb_words(t.dir.string()); });
  EXPECT_THAT(e, HasSubstr((t.dir / "test.txt").string()));
  EXPECT_THAT(e, HasSubstr("cannot open"));
  EXPECT_THAT(error_of([] { load_ptb_chars("/nonexistent/seqnet/ptb"); }),
              HasSubstr("/nonexistent/seqnet/ptb/train.txt"));
}

TEST(TextDataLoad, VocabularyUnknownSymbolError) {
  Vocabulary v;
  EXPECT_EQ(v.add("x"), 0);
  EXPECT_EQ(v.add("y"), 1);
  EXPECT_EQ(v.add("x"), 0);
  EXPECT_EQ(v.size(), 2);
  EXPECT_EQ(v.id("y"), 1);
  EXPECT_THAT(error_of([&] { v.id("zebra"); }), HasSubstr("'zebra'"));
}

// ---- batchify / windows ---------------------------------------------------------------------

TEST(TextDataBatchify, RowsAreContiguousChunksTailDropped) {
  Tensor b = batchify(ids({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), 3);
  EXPECT_EQ(b.shape(), (Shape{3, 3}));
  EXPECT_EQ(b.dtype(), DType::I64);
  EXPECT_TRUE(b.is_contiguous());
  EXPECT_EQ(b.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  Tensor one = batchify(ids({4, 5, 6}), 1);
  EXPECT_EQ(one.shape(), (Shape{1, 3}));
  Tensor exact = batchify(ids({1, 2, 3, 4}), 2);
  EXPECT_EQ(exact.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST(TextDataBatchify, Errors) {
  EXPECT_THROW(batchify(ids({1, 2}), 3), Error);
  EXPECT_THROW(batchify(ids({1, 2}), 0), Error);
  EXPECT_THROW(batchify(Tensor::zeros({4}), 2), Error);  // f32
  EXPECT_THROW(batchify(Tensor::zeros({2, 2}, DType::I64), 2), Error);
}

TEST(TextDataWindows, StartsEdgeCases) {
  // range(0, L-1, v) with i + seq_len < L.
  EXPECT_EQ(window_starts(11, 10, 5), (std::vector<int64_t>{0}));      // exact fit: target ends at 10
  EXPECT_EQ(window_starts(10, 10, 5), (std::vector<int64_t>{}));       // one short: no room for the shift
  EXPECT_EQ(window_starts(21, 10, 5), (std::vector<int64_t>{0, 5, 10}));
  EXPECT_EQ(window_starts(20, 10, 5), (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(window_starts(0, 3, 1), (std::vector<int64_t>{}));
  EXPECT_EQ(window_starts(5, 1, 1), (std::vector<int64_t>{0, 1, 2, 3}));
  // word_cnn evaluate(): skip when i + seq_len >= L - 1.
  EXPECT_EQ(window_starts(21, 10, 5, WindowRule::Eval), (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(window_starts(22, 10, 5, WindowRule::Eval), (std::vector<int64_t>{0, 5, 10}));
  // Word train config: [16, 58099], 117 / 45.
  auto w = window_starts(58099, 117, 45);
  EXPECT_EQ(w.size(), size_t((58099 - 117 - 1) / 45 + 1));
  EXPECT_THROW(window_starts(10, 0, 1), Error);
  EXPECT_THROW(window_starts(10, 3, 4), Error);
  EXPECT_THROW(window_starts(10, 3, 0), Error);
}

TEST(TextDataWindows, MakeWindowShiftsTargetByOne) {
  std::vector<int64_t> v(24);
  for (int64_t i = 0; i < 24; ++i) v[size_t(i)] = 100 + i;
  Tensor b = batchify(Tensor::from_vector(v, {24}), 2);  // rows 100..111, 112..123
  Tensor in, tg;
  make_window(b, 3, 4, in, tg);
  EXPECT_EQ(in.shape(), (Shape{2, 4}));
  EXPECT_EQ(tg.shape(), (Shape{2, 4}));
  EXPECT_EQ(in.to_vector<int64_t>(), (std::vector<int64_t>{103, 104, 105, 106, 115, 116, 117, 118}));
  EXPECT_EQ(tg.to_vector<int64_t>(), (std::vector<int64_t>{104, 105, 106, 107, 116, 117, 118, 119}));
  // Last window that fits: start + seq_len + 1 == 12.
  make_window(b, 0, 11, in, tg);
  EXPECT_EQ(tg.at<int64_t>({1, 10}), 123);
  EXPECT_THROW(make_window(b, 1, 11, in, tg), Error);
  EXPECT_THROW(make_window(b, -1, 2, in, tg), Error);
  EXPECT_THROW(make_window(b, 0, 0, in, tg), Error);
  // Every start from window_starts is accepted by make_window.
  for (int64_t s : window_starts(b.size(1), 5, 2)) EXPECT_NO_THROW(make_window(b, s, 5, in, tg));
}
