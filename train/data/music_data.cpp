// train/data/music_data.cpp — see music_data.h.
#include "train/data/music_data.h"

#include <fstream>

#if SEQNET_HAVE_WAV_MAT
#include <matio.h>
#endif

#include <algorithm>
#include <filesystem>
#include <memory>

#include "core/paths.h"
#include "core/error.h"

namespace seqnet {

#if SEQNET_HAVE_WAV_MAT
namespace {

struct MatCloser {
  void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFreer {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};

template <typename T>
void copy_roll(const void* data, int64_t rows, float* dst, const std::string& where) {
  const T* src = static_cast<const T*>(data);
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t j = 0; j < kPianoKeys; ++j) {
      const T v = src[t + j * rows];  // MATLAB column-major
      check(v == T(0) || v == T(1), "load_music_mat: {} holds a value other than 0/1 at row {}, column {} ({})",
            where, t, j, double(v));
      dst[t * kPianoKeys + j] = v == T(1) ? 1.0f : 0.0f;
    }
}

Tensor read_cell(const matvar_t* cell, const std::string& where) {
  check(cell != nullptr, "load_music_mat: {} is missing", where);
  check(cell->rank == 2, "load_music_mat: {} must be a 2-D matrix, has rank {}", where, cell->rank);
  check(!cell->isComplex, "load_music_mat: {} must be real, is complex", where);
  check(cell->class_type != MAT_C_SPARSE && cell->class_type != MAT_C_CELL && cell->class_type != MAT_C_STRUCT &&
            cell->class_type != MAT_C_CHAR,
        "load_music_mat: {} must be a numeric matrix (class {})", where, int(cell->class_type));
  const int64_t rows = int64_t(cell->dims[0]), cols = int64_t(cell->dims[1]);
  check(cols == kPianoKeys, "load_music_mat: {} must have {} columns (piano keys), has {} x {}", where, kPianoKeys,
        rows, cols);
  check(rows >= 1, "load_music_mat: {} has no time steps ({} x {})", where, rows, cols);
  check(cell->data != nullptr, "load_music_mat: {} has no data", where);
  Tensor out = Tensor::empty({rows, kPianoKeys}, DType::F32);
  float* dst = out.data<float>();
  switch (cell->data_type) {
    case MAT_T_DOUBLE: copy_roll<double>(cell->data, rows, dst, where); break;
    case MAT_T_SINGLE: copy_roll<float>(cell->data, rows, dst, where); break;
    case MAT_T_UINT8: copy_roll<uint8_t>(cell->data, rows, dst, where); break;
    case MAT_T_INT8: copy_roll<int8_t>(cell->data, rows, dst, where); break;
    case MAT_T_UINT16: copy_roll<uint16_t>(cell->data, rows, dst, where); break;
    case MAT_T_INT16: copy_roll<int16_t>(cell->data, rows, dst, where); break;
    case MAT_T_UINT32: copy_roll<uint32_t>(cell->data, rows, dst, where); break;
    case MAT_T_INT32: copy_roll<int32_t>(cell->data, rows, dst, where); break;
    default: fail(fmt::format("load_music_mat: {} has unsupported data type {}", where, int(cell->data_type)));
  }
  return out;
}

// "1 x 229" (or "rank 3" for what a piano-roll set never is).
std::string dims_str(const matvar_t* v) {
  if (v->rank != 2 || v->dims == nullptr) return fmt::format("rank {}", v->rank);
  return fmt::format("{} x {}", v->dims[0], v->dims[1]);
}

// What a variable matio could not read claims to hold, from its header alone: the cell array's
// size and the largest matrix among its first cells.
std::string claimed_sizes(mat_t* mat, const char* name) {
  std::unique_ptr<matvar_t, VarFreer> info(Mat_VarReadInfo(mat, name));
  if (!info) return "";
  std::string s = fmt::format(" (it claims {} {})", dims_str(info.get()),
                              info->class_type == MAT_C_CELL ? "cells" : "elements");
  if (info->class_type != MAT_C_CELL || info->rank != 2 || info->data == nullptr) return s;
  const size_t n = std::min<size_t>(info->dims[0] * info->dims[1], 4096);
  const matvar_t* largest = nullptr;
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    const matvar_t* c = Mat_VarGetCell(info.get(), int(i));
    if (c && c->rank == 2 && c->dims &&
        (!largest || c->dims[0] * c->dims[1] > largest->dims[0] * largest->dims[1]))
      largest = c, at = i;
  }
  if (largest) s.insert(s.size() - 1, fmt::format("; {}{{{}}} claims {}", name, at, dims_str(largest)));
  return s;
}

std::vector<Tensor> read_split(mat_t* mat, const std::string& path, uint64_t file_bytes, const char* name) {
  std::unique_ptr<matvar_t, VarFreer> var(Mat_VarRead(mat, name));
  if (var == nullptr) {
    // Mat_VarRead also fails when the variable is there but claims more data than the file holds.
    const std::string claimed = claimed_sizes(mat, name);
    check(!claimed.empty(), "load_music_mat: '{}' has no variable '{}' (expected traindata, validdata, testdata)",
          path, name);
    fail(fmt::format("load_music_mat: '{}': variable '{}' cannot be read{}; the file of {} bytes does not hold "
                     "that much data (damaged or truncated?)",
                     path, name, claimed, file_bytes));
  }
  check(var->class_type == MAT_C_CELL, "load_music_mat: '{}': variable '{}' must be a cell array (class {})", path,
        name, int(var->class_type));
  check(var->rank == 2 && (var->dims[0] == 1 || var->dims[1] == 1),
        "load_music_mat: '{}': variable '{}' must be a 1 x N cell array, is {}", path, name, dims_str(var.get()));
  const size_t n = var->dims[0] * var->dims[1];
  check(n >= 1, "load_music_mat: '{}': variable '{}' is an empty cell array", path, name);
  // Each sequence is a matrix element of at least 8 bytes before compression, and zlib shrinks at
  // most ~1032:1; and no data set has near 2^20 sequences (the largest has about 700). A count
  // beyond either is a damaged header: refuse it before allocating a Tensor per claimed cell.
  const uint64_t max_cells = std::min<uint64_t>(uint64_t(1) << 20, file_bytes * 1032 / 8);
  check(n <= max_cells,
        "load_music_mat: '{}': variable '{}' claims {} sequences ({} cells); at most {} are allowed for a file of {} "
        "bytes (damaged header?)",
        path, name, n, dims_str(var.get()), max_cells, file_bytes);
  std::vector<Tensor> seqs;
  seqs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string where = fmt::format("'{}': {}{{{}}}", path, name, i);
    seqs.push_back(read_cell(Mat_VarGetCell(var.get(), int(i)), where));
  }
  return seqs;
}

}  // namespace

// A level-5 MAT-file is a 128-byte header and a chain of data elements, each an 8-byte tag
// (type, byte count) and its bytes (padded to 8 unless compressed). matio fills a cut-off
// compressed element with whatever it has, so a truncated file would load and train on made-up
// data: walk the chain first and require that it ends exactly at the end of the file.
// (Version 7.3 files are HDF5 and are left to matio.)
static void check_mat_complete(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  f.seekg(0, std::ios::end);
  const uint64_t size = uint64_t(f.tellg());
  check(size >= 128, "load_music_mat: '{}' is {} bytes, shorter than a MAT-file header (128)", path, size);
  unsigned char head[128];
  f.seekg(0);
  f.read(reinterpret_cast<char*>(head), 128);
  const bool little = head[126] == 'I' && head[127] == 'M';
  const bool big = head[126] == 'M' && head[127] == 'I';
  const uint16_t version = little ? uint16_t(head[124] | head[125] << 8) : uint16_t(head[125] | head[124] << 8);
  if (!(little || big) || version != 0x0100) return;  // not level 5 (e.g. v7.3 / HDF5): matio decides
  auto u32 = [&](const unsigned char* b) {
    return little ? uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24
                  : uint32_t(b[3]) | uint32_t(b[2]) << 8 | uint32_t(b[1]) << 16 | uint32_t(b[0]) << 24;
  };
  uint64_t off = 128;
  int elements = 0;
  while (off < size) {
    unsigned char tag[8];
    check(size - off >= 8, "load_music_mat: '{}' is truncated: {} stray bytes after data element {} (file is {} bytes)",
          path, size - off, elements, size);
    f.seekg(std::streamoff(off));
    f.read(reinterpret_cast<char*>(tag), 8);
    const uint32_t type = u32(tag), bytes = u32(tag + 4);
    const uint64_t padded = type == 15 /* miCOMPRESSED */ ? bytes : (uint64_t(bytes) + 7) / 8 * 8;
    check(off + 8 + padded <= size,
          "load_music_mat: '{}' is truncated: data element {} at byte {} needs {} bytes, the file ends after {}", path,
          elements, off, 8 + padded, size - off);
    off += 8 + padded;
    ++elements;
  }
}

MusicSet load_music_mat(const std::string& path) {
  check_regular_file(path, "load_music_mat");
  check_mat_complete(path);
  std::unique_ptr<mat_t, MatCloser> mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  check(mat != nullptr, "load_music_mat: cannot open '{}' (missing, unreadable or not a MAT-file)", path);
  MusicSet set;
  std::error_code ec;
  const uint64_t bytes = std::filesystem::file_size(path, ec);
  set.train = read_split(mat.get(), path, bytes, "traindata");
  set.valid = read_split(mat.get(), path, bytes, "validdata");
  set.test = read_split(mat.get(), path, bytes, "testdata");
  return set;
}
#else
MusicSet load_music_mat(const std::string& path) {
  fail(fmt::format("load_music_mat: '{}': this seqnet was built without libmatio (-DSEQNET_WAV_MAT=OFF); install "
                   "libmatio-dev and rebuild to read .mat files",
                   path));
}
#endif

void music_input_target(const Tensor& seq, Tensor& input, Tensor& target) {
  check(seq.defined() && seq.dim() == 2 && seq.size(0) >= 2,
        "music_input_target: expects a (L, keys) piano roll with L >= 2, got {}",
        seq.defined() ? seq.describe() : std::string("undefined"));
  const int64_t L = seq.size(0);
  input = seq.narrow(0, 0, L - 1).contiguous();
  target = seq.narrow(0, 1, L - 1).contiguous();
}

}  // namespace seqnet
