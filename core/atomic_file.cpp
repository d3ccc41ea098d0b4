// core/atomic_file.cpp — temporary file + fsync + rename (see the header).
#include "core/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace seqnet {

namespace {
std::string errno_str() { return std::strerror(errno); }
}  // namespace

AtomicFile::AtomicFile(std::string target, std::string who) : target_(std::move(target)), who_(std::move(who)) {
  static std::atomic<unsigned> counter{0};
  tmp_ = fmt::format("{}.tmp.{}.{}", target_, ::getpid(), counter++);
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) fail(fmt::format("cannot create temporary file '{}': {}", tmp_, errno_str()));
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::fail(const std::string& what) const { throw Error(fmt::format("{}: {}: {}", who_, target_, what)); }

void AtomicFile::write(const void* data, size_t n) {
  check(file_ != nullptr, "{}: {}: write after commit", who_, target_);
  if (n > 0 && std::fwrite(data, 1, n, file_) != n)
    fail(fmt::format("cannot write temporary file '{}': {}", tmp_, errno_str()));
}

int AtomicFile::fd() const {
  check(file_ != nullptr, "{}: {}: fd() after commit", who_, target_);
  return fileno(file_);
}

void AtomicFile::commit() {
  check(file_ != nullptr, "{}: {}: commit() twice", who_, target_);
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0)
    fail(fmt::format("cannot flush temporary file '{}': {}", tmp_, errno_str()));
  std::FILE* f = file_;
  file_ = nullptr;
  if (std::fclose(f) != 0) fail(fmt::format("cannot close temporary file '{}': {}", tmp_, errno_str()));
  if (std::rename(tmp_.c_str(), target_.c_str()) != 0)
    fail(fmt::format("cannot rename '{}' over the target: {}", tmp_, errno_str()));
  committed_ = true;
  // Make the rename itself durable. Best effort: some file systems refuse to fsync a folder.
  const std::filesystem::path parent = std::filesystem::path(target_).parent_path();
  const int dfd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& who) {
  AtomicFile f(path, who);
  f.write(bytes);
  f.commit();
}

}  // namespace seqnet
