// train/data/text_data.h — Penn Treebank (word and character level) and the windowing used by the
// char_cnn / word_cnn experiments (MODELS.md §10.3–10.4, shared/data/README.md §1–2).
//
// Word level (official word_cnn `data.Corpus`): every line becomes `line.split() + ['<eos>']`;
// ids in order of first appearance reading train, then valid, then test (10 000 symbols).
//
// Character level (official char_cnn via `observations.ptb`): each word-level file is read as
// raw text with every "\n" replaced by the five characters "<eos>" (nothing else changes: the
// leading / trailing spaces of each line stay). The alphabet is built from
// train + " " + valid + " " + test in order of first appearance. On the shipped files this
// gives 49 symbols (data README §2), not the 50 quoted by MODELS.md §10.3 / the TCN README:
// the 50th symbol there is "\n", which the official loader replaces by "<eos>".
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace seqnet {

struct Vocabulary {
  std::vector<std::string> symbols;               // id -> symbol
  std::unordered_map<std::string, int64_t> index;  // symbol -> id

  int64_t size() const { return int64_t(symbols.size()); }
  // Id of `s`; Error naming the symbol when it is not in the vocabulary.
  int64_t id(const std::string& s) const;
  // Adds `s` if new; returns its id.
  int64_t add(const std::string& s);
};

struct TextCorpus {
  Vocabulary vocab;
  Tensor train, valid, test;  // i64 1-D id streams
};

// Reads <dir>/train.txt, valid.txt, test.txt. Errors name the file when it is missing,
// unreadable or empty.
TextCorpus load_ptb_words(const std::string& dir);
TextCorpus load_ptb_chars(const std::string& dir);

// The character-level text of one word-level file's contents: "\n" -> "<eos>".
std::string ptb_char_text(const std::string& raw);

// Decodes an id stream back to text (symbols joined with `sep`); for tests and sampling.
std::string decode(const Vocabulary& vocab, const Tensor& ids, const std::string& sep = "");

// (rows, L / rows) i64 contiguous: row r = stream[r*(L/rows) : (r+1)*(L/rows)], tail dropped.
Tensor batchify(const Tensor& stream, int64_t rows);

// Which start positions window_starts keeps (all from range(0, length-1, validseqlen)):
//   Train: i + seq_len <  length     — the shifted target fits (char train + eval, word train)
//   Eval:  i + seq_len <  length - 1 — word_cnn's evaluate() (skips i + seq_len >= L-1)
enum class WindowRule { Train, Eval };

struct Window {
  int64_t start;
};

// Window starts in order (the training loop shuffles them itself).
std::vector<int64_t> window_starts(int64_t length, int64_t seq_len, int64_t validseqlen,
                                   WindowRule rule = WindowRule::Train);

// input = batched[:, start:start+seq_len], target = batched[:, start+1:start+seq_len+1]
// (fresh contiguous i64 tensors). Error if the target would run past the end.
void make_window(const Tensor& batched, int64_t start, int64_t seq_len, Tensor& input, Tensor& target);

}  // namespace seqnet
