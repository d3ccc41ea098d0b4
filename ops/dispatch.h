// ops/dispatch.h — from a runtime DType to a compile-time element type.
//
//   dispatch_float(x.dtype(), "tanh", [&]<typename T>() { tanh_forward<T>(...); });
//
// calls the lambda with T = float or double and throws a clear error for i64.
#pragma once
#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"

namespace seqnet {

template <class F>
decltype(auto) dispatch_float(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::F32: return f.template operator()<float>();
    case DType::F64: return f.template operator()<double>();
    default: break;
  }
  throw Error(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op, dtype_name(t)));
}

// Shared argument checks for ops; each names the op and the offending shapes / dtypes. They are
// written `if (!cond) fail(fmt::format(...))` so that the message (describe() builds strings) is
// only built when a check fails: these run on every op call, and step-mode generation makes
// thousands of tiny calls. (core/error.h's check() formats only on failure too, but its
// arguments are evaluated on every call: pass it cheap values.) Device checks: ops/backend.h.
inline void check_defined(const Tensor& t, const char* op, const char* what) {
  if (!t.defined()) fail(fmt::format("{}: {} is undefined", op, what));
}
inline void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dtype() != b.dtype())
    fail(fmt::format("{}: dtype mismatch, {} vs {} (convert one with .to())", op, a.describe(), b.describe()));
}

}  // namespace seqnet
