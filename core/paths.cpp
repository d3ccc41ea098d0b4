#include "core/paths.h"

#include <cstdlib>
#include <filesystem>

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

}  // namespace seqnet
