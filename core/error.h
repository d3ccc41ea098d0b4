// core/error.h — the one exception type of seqnet and a helper to raise it.
//
// Every user-facing failure (bad shapes, dtype mixes, corrupt files, misuse of autograd)
// throws seqnet::Error with a message naming the op / file / flag and the values involved.
#pragma once
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <stdexcept>
#include <string>

namespace seqnet {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// check(cond, "conv1d: x must be 3-D (N, C, T), got {}", n) — formats the message only on failure,
// but like any function call it evaluates its arguments every time: check(ok, "...", x.describe())
// builds a string per call. On hot paths (ops run per generated sample) pass cheap values, or write
//   if (!ok) fail(fmt::format("conv1d: bad input {}", x.describe()));
// which builds nothing unless it fails. core/, ops/, autograd/ and models/ use that form wherever a
// message formats a tensor or a shape: a copy-memory Seq-U-Net step spent 19 % of its time
// formatting messages that were never shown (wrap_dim alone ran per select / narrow).
template <typename... Args>
inline void check(bool cond, fmt::format_string<Args...> f, Args&&... args) {
  if (!cond) throw Error(fmt::format(f, std::forward<Args>(args)...));
}

[[noreturn]] inline void fail(const std::string& msg) { throw Error(msg); }

}  // namespace seqnet
