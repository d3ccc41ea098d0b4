// core/atomic_file.h — write a file so that readers see either the old or the new version, never a
// half-written one (checkpoints, metrics summaries, search logs, generated WAV / MIDI / SVG).
//
// The bytes go to a temporary file next to the target (`<target>.tmp.<pid>.<n>`, same folder, so
// same file system); commit() flushes and fsyncs it, renames it over the target (atomic on POSIX)
// and fsyncs the folder. If anything fails, or the AtomicFile is destroyed without commit() (an
// exception, an interrupted run), the temporary file is removed and the previous target is left
// exactly as it was.
//
//   AtomicFile f(path);            // "<who>: cannot create ..." errors name the target
//   f.write(bytes.data(), n);      // any number of writes
//   f.commit();                    // now `path` has the new content
//
//   write_file_atomic(path, text, "plot");   // the same for one string
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace seqnet {

class AtomicFile {
 public:
  // `who` prefixes error messages ("safetensors", "plot", ...).
  explicit AtomicFile(std::string target, std::string who = "write");
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // The temporary file's descriptor, for writers that take one (libsndfile's sf_open_fd). Do not
  // close it; mixing it with write() is not supported.
  int fd() const;
  const std::string& temp_path() const { return tmp_; }
  const std::string& target() const { return target_; }
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what) const;
  std::string target_, who_, tmp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// Removes the temporary files that AtomicFile writers left in `dir` when they were killed before
// commit (`<target>.tmp.<pid>.<n>` whose process <pid> is gone; files of live processes are
// kept). Not recursive. Returns how many files were removed and adds their size to *bytes.
struct StaleTemporaries {
  int64_t files = 0;
  uint64_t bytes = 0;
};
StaleTemporaries remove_stale_temporaries(const std::string& dir);

// Replaces `path` by `bytes` atomically (AtomicFile); errors start with "<who>: <path>".
void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& who = "write");

}  // namespace seqnet
