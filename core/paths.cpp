#include "core/paths.h"

#include <cstdlib>
#include <filesystem>

#include "core/error.h"

#ifndef SEQNET_SHARED_DIR
#define SEQNET_SHARED_DIR "../shared"
#endif

namespace seqnet {

namespace {
std::string from_env(const char* var, const char* fallback_sub) {
  if (const char* v = std::getenv(var); v && *v) return v;
  return std::string(SEQNET_SHARED_DIR) + "/" + fallback_sub;
}
}  // namespace

std::string refs_dir() { return from_env("SEQNET_REFS", "refs"); }
std::string data_dir() { return from_env("SEQNET_DATA", "data"); }
std::string baselines_dir() { return from_env("SEQNET_BASELINES", "baselines"); }
bool path_exists(const std::string& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

void check_regular_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);  // follows symlinks
  if (ec || st.type() == std::filesystem::file_type::not_found)
    fail(fmt::format("{}: cannot open '{}': {}", what, path,
                     ec && ec != std::errc::no_such_file_or_directory ? ec.message() : "it does not exist"));
  if (st.type() == std::filesystem::file_type::directory)
    fail(fmt::format("{}: '{}' is a directory, not a regular file", what, path));
  if (st.type() != std::filesystem::file_type::regular)
    fail(fmt::format("{}: '{}' is not a regular file (a FIFO, socket or device); refusing to read it", what, path));
}

}  // namespace seqnet
