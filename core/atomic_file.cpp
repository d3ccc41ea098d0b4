// core/atomic_file.cpp — temporary file + fsync + rename (see the header).
#include "core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
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

namespace {
// The pid of an AtomicFile temporary name "<target>.tmp.<pid>.<n>", or 0 if `name` is not one.
long temporary_owner(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot + 1 == name.size()) return 0;
  const size_t pid_dot = name.rfind('.', dot - 1);
  if (pid_dot == std::string::npos || pid_dot < 4 || name.compare(pid_dot - 4, 5, ".tmp.") != 0) return 0;
  auto all_digits = [&](size_t b, size_t e) {
    if (b >= e || e - b > 18) return false;
    for (size_t i = b; i < e; ++i)
      if (name[i] < '0' || name[i] > '9') return false;
    return true;
  };
  if (!all_digits(pid_dot + 1, dot) || !all_digits(dot + 1, name.size())) return 0;
  return std::stol(name.substr(pid_dot + 1, dot - pid_dot - 1));
}
}  // namespace

StaleTemporaries remove_stale_temporaries(const std::string& dir) {
  StaleTemporaries out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const long pid = temporary_owner(name);
    if (pid <= 0 || pid == long(::getpid())) continue;
    if (::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;  // its writer may still be running
    if (!entry.is_regular_file(ec)) continue;
    const uintmax_t size = entry.file_size(ec);
    if (std::filesystem::remove(entry.path(), ec)) {
      ++out.files;
      out.bytes += ec ? 0 : uint64_t(size);
    }
  }
  return out;
}

void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& who) {
  AtomicFile f(path, who);
  f.write(bytes);
  f.commit();
}

}  // namespace seqnet
