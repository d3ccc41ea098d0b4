// train/data/text_data.cpp — see text_data.h.
#include "train/data/text_data.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/paths.h"
#include "core/error.h"

namespace seqnet {

int64_t Vocabulary::id(const std::string& s) const {
  auto it = index.find(s);
  if (it == index.end()) fail(fmt::format("vocabulary: unknown symbol '{}' ({} symbols)", s, symbols.size()));
  return it->second;
}

int64_t Vocabulary::add(const std::string& s) {
  auto [it, inserted] = index.try_emplace(s, int64_t(symbols.size()));
  if (inserted) symbols.push_back(s);
  return it->second;
}

namespace {

// The byte offset of the first invalid UTF-8 sequence in s, or -1. (Overlong forms, surrogates and
// code points above U+10FFFF are invalid too.) A vocabulary is written to checkpoints as JSON,
// which must be UTF-8: text that is not would train for an epoch and then fail to save.
int64_t first_invalid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = p[i];
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    else return int64_t(i);
    if (i + len > n) return int64_t(i);
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return int64_t(i);
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    const uint32_t min_cp = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return int64_t(i);
    i += len;
  }
  return -1;
}

std::string read_text_file(const std::string& path) {
  check(path_exists(path), "text data: cannot open '{}' (missing or unreadable; set SEQNET_DATA?)", path);
  check_regular_file(path, "text data");
  std::ifstream f(path, std::ios::binary);
  check(bool(f), "text data: cannot open '{}' (missing or unreadable; set SEQNET_DATA?)", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  check(!f.bad(), "text data: error reading '{}'", path);
  std::string s = ss.str();
  check(!s.empty(), "text data: '{}' is empty", path);
  if (const int64_t bad = first_invalid_utf8(s); bad >= 0)
    fail(fmt::format("text data: '{}' is not valid UTF-8 at byte {} (line {})", path, bad,
                     1 + std::count(s.begin(), s.begin() + bad, '\n')));
  return s;
}

std::string split_path(const std::string& dir, const char* name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Tensor to_tensor(const std::vector<int64_t>& ids) {
  return Tensor::from_vector(ids, {int64_t(ids.size())});
}

bool is_space(char c) {
  // Python str.split() whitespace for ASCII text.
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Python: for line in f: ids += [vocab[w] for w in line.split() + ['<eos>']]
std::vector<int64_t> tokenize_words(const std::string& text, Vocabulary& vocab) {
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 5);
  size_t pos = 0, n = text.size();
  std::string word;
  while (pos < n) {
    size_t eol = text.find('\n', pos);
    size_t end = eol == std::string::npos ? n : eol;
    size_t i = pos;
    while (i < end) {
      while (i < end && is_space(text[i])) ++i;
      size_t j = i;
      while (j < end && !is_space(text[j])) ++j;
      if (j > i) {
        word.assign(text, i, j - i);
        ids.push_back(vocab.add(word));
      }
      i = j;
    }
    ids.push_back(vocab.add("<eos>"));
    pos = end + 1;  // a final line without "\n" still counts as a line, like Python's file iteration
  }
  return ids;
}

}  // namespace

TextCorpus load_ptb_words(const std::string& dir) {
  std::string tr = read_text_file(split_path(dir, "train.txt"));
  std::string va = read_text_file(split_path(dir, "valid.txt"));
  std::string te = read_text_file(split_path(dir, "test.txt"));
  TextCorpus c;
  c.train = to_tensor(tokenize_words(tr, c.vocab));
  c.valid = to_tensor(tokenize_words(va, c.vocab));
  c.test = to_tensor(tokenize_words(te, c.vocab));
  return c;
}

std::string ptb_char_text(const std::string& raw) {
  std::string out;
  out.reserve(raw.size() + raw.size() / 8);
  for (char ch : raw) {
    if (ch == '\n')
      out += "<eos>";
    else
      out += ch;
  }
  return out;
}

TextCorpus load_ptb_chars(const std::string& dir) {
  const std::string paths[3] = {split_path(dir, "train.txt"), split_path(dir, "valid.txt"),
                                split_path(dir, "test.txt")};
  std::string text[3];
  for (int k = 0; k < 3; ++k) {
    text[k] = ptb_char_text(read_text_file(paths[k]));
    for (unsigned char ch : text[k])
      check(ch < 0x80, "text data: '{}' is not ASCII (byte 0x{:02x}); the PTB files are pure ASCII",
            paths[k], unsigned(ch));
  }
  // Alphabet: first appearance in train + " " + valid + " " + test. The joining spaces cannot
  // add a symbol earlier than the text would (every PTB line starts with a space), but keep
  // them for exactness.
  TextCorpus c;
  int64_t table[128];
  std::fill(std::begin(table), std::end(table), int64_t(-1));
  auto see = [&](char ch) {
    if (table[int(ch)] < 0) table[int(ch)] = c.vocab.add(std::string(1, ch));
  };
  for (int k = 0; k < 3; ++k) {
    if (k > 0) see(' ');
    for (char ch : text[k]) see(ch);
  }
  Tensor* dst[3] = {&c.train, &c.valid, &c.test};
  for (int k = 0; k < 3; ++k) {
    Tensor t = Tensor::empty({int64_t(text[k].size())}, DType::I64);
    int64_t* p = t.data<int64_t>();
    for (size_t i = 0; i < text[k].size(); ++i) p[i] = table[int(text[k][i])];
    *dst[k] = std::move(t);
  }
  return c;
}

std::string decode(const Vocabulary& vocab, const Tensor& ids, const std::string& sep) {
  check(ids.dtype() == DType::I64, "decode: ids must be i64, got {}", ids.describe());
  std::vector<int64_t> v = ids.to_vector<int64_t>();
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    check(v[i] >= 0 && v[i] < vocab.size(), "decode: id {} out of range for a vocabulary of {}", v[i],
          vocab.size());
    if (i > 0) out += sep;
    out += vocab.symbols[size_t(v[i])];
  }
  return out;
}

Tensor batchify(const Tensor& stream, int64_t rows) {
  check(stream.dtype() == DType::I64 && stream.dim() == 1, "batchify: stream must be a 1-D i64 tensor, got {}",
        stream.describe());
  check(rows > 0, "batchify: rows must be positive, got {}", rows);
  int64_t cols = stream.numel() / rows;
  check(cols > 0, "batchify: stream of length {} is shorter than rows = {}", stream.numel(), rows);
  return stream.narrow(0, 0, rows * cols).contiguous().view({rows, cols}).clone();
}

std::vector<int64_t> window_starts(int64_t length, int64_t seq_len, int64_t validseqlen, WindowRule rule) {
  check(seq_len > 0, "window_starts: seq_len must be positive, got {}", seq_len);
  check(validseqlen > 0 && validseqlen <= seq_len,
        "window_starts: validseqlen must be in 1..seq_len ({}), got {}", seq_len, validseqlen);
  check(length >= 0, "window_starts: length must be >= 0, got {}", length);
  int64_t limit = rule == WindowRule::Train ? length : length - 1;  // keep i + seq_len < limit
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < length - 1; i += validseqlen)
    if (i + seq_len < limit) starts.push_back(i);
  return starts;
}

void make_window(const Tensor& batched, int64_t start, int64_t seq_len, Tensor& input, Tensor& target) {
  check(batched.dtype() == DType::I64 && batched.dim() == 2, "make_window: expected a 2-D i64 tensor, got {}",
        batched.describe());
  int64_t L = batched.size(1);
  check(start >= 0 && seq_len > 0 && start + seq_len + 1 <= L,
        "make_window: window [{}, {}) plus the shifted target needs {} columns, the data has {}", start,
        start + seq_len, start + seq_len + 1, L);
  input = batched.narrow(1, start, seq_len).clone();
  target = batched.narrow(1, start + 1, seq_len).clone();
}

}  // namespace seqnet
