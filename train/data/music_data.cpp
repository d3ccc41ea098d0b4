// train/data/music_data.cpp — see music_data.h.
#include "train/data/music_data.h"

#include <fstream>

#if SEQNET_HAVE_WAV_MAT
#include <matio.h>
#include <zlib.h>
#endif

#include <algorithm>
#include <iterator>

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
// (type, byte count) and its bytes (padded to 8 unless compressed). matio trusts the sizes inside:
// it fills a cut-off compressed element with whatever it has (a truncated file would load and train
// on made-up data), and it loops over the cell count an array header claims (a damaged 400-byte file
// claiming 2^31 cells kept it busy for minutes). So before matio sees a file, walk it: the chain
// must end exactly at the end of the file, every compressed element must inflate completely, and
// every array's dimensions must fit in the bytes it has. (Version 7.3 files are HDF5 and are left
// to matio.)
namespace {

constexpr uint32_t kMiInt8 = 1, kMiInt32 = 5, kMiUint32 = 6, kMiMatrix = 14, kMiCompressed = 15;
constexpr int kMaxCellNesting = 8;  // music files nest one level (a cell array of matrices)
constexpr uint64_t kMaxInflatedBytes = 1ull << 30;  // one variable; the largest shipped one inflates to 64 MB

struct MatBytes {
  const std::string& path;
  bool little;
  uint32_t u32(const unsigned char* b) const {
    return little ? uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24
                  : uint32_t(b[3]) | uint32_t(b[2]) << 8 | uint32_t(b[1]) << 16 | uint32_t(b[0]) << 24;
  }
};

// One data element inside [p, end): its type, its bytes [data, data + bytes), and where the next starts.
struct MatElement {
  uint32_t type, bytes;
  const unsigned char *data, *next;
};

MatElement mat_element(const MatBytes& m, const unsigned char* p, const unsigned char* end, const std::string& what) {
  check(end - p >= 8, "load_music_mat: '{}' is damaged: {} is cut off ({} bytes left, a tag needs 8)", m.path, what,
        end - p);
  const uint32_t w = m.u32(p);
  if (w >> 16) {  // small data element: type and byte count in one word, up to 4 bytes of data
    check((w >> 16) <= 4, "load_music_mat: '{}' is damaged: {} claims {} bytes in a small element (at most 4)",
          m.path, what, w >> 16);
    return {w & 0xFFFF, w >> 16, p + 4, p + 8};
  }
  const uint32_t bytes = m.u32(p + 4);
  const uint64_t padded = (uint64_t(bytes) + 7) / 8 * 8;
  check(padded <= uint64_t(end - p - 8), "load_music_mat: '{}' is damaged: {} claims {} bytes, only {} are left",
        m.path, what, bytes, end - p - 8);
  return {w, bytes, p + 8, p + 8 + padded};
}

size_t mat_type_size(uint32_t type) {
  switch (type) {
    case 1: case 2: case 16: return 1;   // miINT8, miUINT8, miUTF8
    case 3: case 4: case 17: return 2;   // miINT16, miUINT16, miUTF16
    case 5: case 6: case 7: case 18: return 4;  // miINT32, miUINT32, miSINGLE, miUTF32
    case 9: case 12: case 13: return 8;  // miDOUBLE, miINT64, miUINT64
    default: return 0;
  }
}

// Checks the contents [p, end) of one miMATRIX element: flags, dimensions, name, then the cells
// (recursively) or the real / imaginary data, whose byte counts must match the dimensions.
void check_mat_array(const MatBytes& m, const unsigned char* p, const unsigned char* end, int nesting,
                     std::string what) {
  if (p == end) return;  // an empty matrix (e.g. an empty cell)
  const MatElement flags = mat_element(m, p, end, what + " (array flags)");
  check(flags.type == kMiUint32 && flags.bytes == 8, "load_music_mat: '{}' is damaged: {} has bad array flags",
        m.path, what);
  const uint32_t klass = m.u32(flags.data) & 0xFF;
  const bool complex = m.u32(flags.data) & 0x800;
  const MatElement dims = mat_element(m, flags.next, end, what + " (dimensions)");
  check(dims.type == kMiInt32 && dims.bytes >= 8 && dims.bytes % 4 == 0,
        "load_music_mat: '{}' is damaged: {} has bad dimensions (type {}, {} bytes)", m.path, what, dims.type,
        dims.bytes);
  uint64_t count = 1;  // elements; bounded by the bytes below, so it cannot overflow past them
  std::string dims_text;
  for (uint32_t k = 0; k < dims.bytes / 4; ++k) {
    const int32_t d = int32_t(m.u32(dims.data + 4 * k));
    check(d >= 0, "load_music_mat: '{}' is damaged: {} has a negative dimension ({})", m.path, what, d);
    count = std::min<uint64_t>(count * uint64_t(d), uint64_t(1) << 62);
    if (k < 4) dims_text += fmt::format("{}{}", k ? " x " : "", d);
  }
  const MatElement name = mat_element(m, dims.next, end, what + " (name)");
  check(name.type == kMiInt8, "load_music_mat: '{}' is damaged: {} has a name of type {}", m.path, what, name.type);
  if (nesting == 0 && name.bytes > 0) {  // a variable: name it in every message below (printable part only)
    std::string n;
    for (uint32_t k = 0; k < name.bytes && n.size() < 40; ++k)
      n += (name.data[k] >= 0x20 && name.data[k] < 0x7F) ? char(name.data[k]) : '?';
    what = fmt::format("variable '{}'", n);
  }
  const unsigned char* q = name.next;
  switch (klass) {
    case 1: {  // mxCELL: `count` miMATRIX elements, each at least a tag
      check(nesting < kMaxCellNesting, "load_music_mat: '{}': {} nests cell arrays deeper than {} levels", m.path,
            what, kMaxCellNesting);
      check(count <= uint64_t(end - q) / 8,
            "load_music_mat: '{}' is damaged: {} claims {} cells ({}) but has only {} bytes for them", m.path, what,
            count, dims_text, end - q);
      for (uint64_t i = 0; i < count; ++i) {
        const std::string cell = fmt::format("{}{{{}}}", what, i);
        const MatElement c = mat_element(m, q, end, cell);
        check(c.type == kMiMatrix, "load_music_mat: '{}' is damaged: {} is a data element of type {}, not a matrix",
              m.path, cell, c.type);
        check_mat_array(m, c.data, c.data + c.bytes, nesting + 1, cell);
        q = c.next;
      }
      return;
    }
    case 6: case 7: case 8: case 9: case 10: case 11: case 12: case 13: case 14: case 15: {  // numeric
      for (const char* part : {"real", "imaginary"}) {
        if (part[0] == 'i' && !complex) break;
        const std::string w = fmt::format("{} ({} part)", what, part);
        const MatElement d = mat_element(m, q, end, w);
        const size_t size = mat_type_size(d.type);
        check(size != 0, "load_music_mat: '{}' is damaged: {} has data of unknown type {}", m.path, w, d.type);
        check(d.bytes == count * size,
              "load_music_mat: '{}' is damaged: {} holds {} bytes, its dimensions ({}) need {}", m.path, w, d.bytes,
              dims_text, count * size);
        q = d.next;
      }
      return;
    }
    case 4:  // mxCHAR (not music data, but harmless): at least one byte per character
      check(count <= uint64_t(end - q), "load_music_mat: '{}' is damaged: {} claims {} characters in {} bytes",
            m.path, what, count, end - q);
      return;
    default:
      fail(fmt::format("load_music_mat: '{}': {} is of MATLAB class {} (structs, objects, sparse and function "
                       "arrays are not music data: expected cell arrays of numeric matrices)",
                       m.path, what, klass));
  }
}

// Inflates a miCOMPRESSED element completely (zlib), or fails naming it.
std::string mat_inflate(const MatBytes& m, const unsigned char* data, uint32_t bytes, const std::string& what) {
  z_stream z{};
  check(inflateInit(&z) == Z_OK, "load_music_mat: zlib initialisation failed");
  std::string out;
  z.next_in = const_cast<unsigned char*>(data);
  z.avail_in = bytes;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (out.size() >= kMaxInflatedBytes) break;
    const size_t have = out.size();
    out.resize(std::min<uint64_t>(std::max<size_t>(2 * have, 1 << 16), kMaxInflatedBytes));
    z.next_out = reinterpret_cast<unsigned char*>(out.data() + have);
    z.avail_out = unsigned(out.size() - have);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(out.size() - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in > 0) rc = Z_OK;  // only needed more output space
  }
  inflateEnd(&z);
  check(rc == Z_STREAM_END && z.avail_in == 0,
        "load_music_mat: '{}' is damaged: compressed {} does not inflate completely ({}; {} of {} bytes used)", m.path,
        what, rc == Z_OK ? "over 1 GiB inflated" : z.msg ? z.msg : "the stream ends early", bytes - z.avail_in, bytes);
  return out;
}

// Checks a chain of data elements filling [p, end) exactly; `compressed_ok` at the top level only.
void check_mat_chain(const MatBytes& m, const unsigned char* p, const unsigned char* end, uint64_t file_offset,
                     bool compressed_ok) {
  for (int elements = 0; p < end; ++elements) {
    const std::string what = fmt::format("data element {} (byte {})", elements, file_offset);
    check(end - p >= 8, "load_music_mat: '{}' is truncated: {} stray bytes after data element {}", m.path, end - p,
          elements - 1);
    const uint32_t type = m.u32(p), bytes = m.u32(p + 4);
    const uint64_t padded = type == kMiCompressed ? bytes : (uint64_t(bytes) + 7) / 8 * 8;
    check(padded <= uint64_t(end - p - 8), "load_music_mat: '{}' is truncated: {} needs {} bytes, {} are left", m.path,
          what, 8 + padded, end - p);
    if (type == kMiCompressed && compressed_ok) {
      const std::string inner = mat_inflate(m, p + 8, bytes, what);
      const auto* b = reinterpret_cast<const unsigned char*>(inner.data());
      check_mat_chain(m, b, b + inner.size(), file_offset, false);
    } else if (type == kMiMatrix) {
      check_mat_array(m, p + 8, p + 8 + bytes, 0, what);
    } else {
      fail(fmt::format("load_music_mat: '{}' is damaged: {} is of type {}, not a variable (matrix{})", m.path, what,
                       type, compressed_ok ? " or compressed matrix" : ""));
    }
    file_offset += 8 + padded;
    p += 8 + padded;
  }
}

}  // namespace

static void check_mat_complete(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  check(!f.bad(), "load_music_mat: cannot read '{}'", path);
  check(bytes.size() >= 128, "load_music_mat: '{}' is {} bytes, shorter than a MAT-file header (128)", path,
        bytes.size());
  const auto* head = reinterpret_cast<const unsigned char*>(bytes.data());
  const bool little = head[126] == 'I' && head[127] == 'M';
  const bool big = head[126] == 'M' && head[127] == 'I';
  const uint16_t version = little ? uint16_t(head[124] | head[125] << 8) : uint16_t(head[125] | head[124] << 8);
  if (!(little || big) || version != 0x0100) return;  // not level 5 (e.g. v7.3 / HDF5): matio decides
  check_mat_chain(MatBytes{path, little}, head + 128, head + bytes.size(), 128, true);
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
