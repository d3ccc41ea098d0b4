// core/dtype.h — element types a Tensor can hold.
//
// f32 is what models train in; f64 exists so every gradient can be checked in double
// precision against finite differences; i64 holds indices (token ids, class targets).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace seqnet {

enum class DType : uint8_t { F32, F64, I64 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I64: return 8;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I64: return "i64";
  }
  return "?";
}

inline bool is_floating(DType t) { return t == DType::F32 || t == DType::F64; }

// Maps a C++ type to its DType: dtype_of<float>() == DType::F32.
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }

}  // namespace seqnet
