// train/data/music_data.cpp — see music_data.h.
#include "train/data/music_data.h"

#if SEQNET_HAVE_WAV_MAT
#include <matio.h>
#endif

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

std::vector<Tensor> read_split(mat_t* mat, const std::string& path, const char* name) {
  std::unique_ptr<matvar_t, VarFreer> var(Mat_VarRead(mat, name));
  check(var != nullptr, "load_music_mat: '{}' has no variable '{}' (expected traindata, validdata, testdata)", path,
        name);
  check(var->class_type == MAT_C_CELL, "load_music_mat: '{}': variable '{}' must be a cell array (class {})", path,
        name, int(var->class_type));
  check(var->rank == 2 && (var->dims[0] == 1 || var->dims[1] == 1),
        "load_music_mat: '{}': variable '{}' must be a 1 x N cell array", path, name);
  const size_t n = var->dims[0] * var->dims[1];
  check(n >= 1, "load_music_mat: '{}': variable '{}' is an empty cell array", path, name);
  std::vector<Tensor> seqs;
  seqs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string where = fmt::format("'{}': {}{{{}}}", path, name, i);
    seqs.push_back(read_cell(Mat_VarGetCell(var.get(), int(i)), where));
  }
  return seqs;
}

}  // namespace

MusicSet load_music_mat(const std::string& path) {
  check_regular_file(path, "load_music_mat");
  std::unique_ptr<mat_t, MatCloser> mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  check(mat != nullptr, "load_music_mat: cannot open '{}' (missing, unreadable or not a MAT-file)", path);
  MusicSet set;
  set.train = read_split(mat.get(), path, "traindata");
  set.valid = read_split(mat.get(), path, "validdata");
  set.test = read_split(mat.get(), path, "testdata");
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
