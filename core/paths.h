// core/paths.h — where reference data and data sets live.
//
// SEQNET_REFS (default: ../shared/refs beside the repository) holds the PyTorch reference
// files; SEQNET_DATA (default: ../shared/data) the data sets. Neither is ever committed; tests
// that need them skip with a message when they are absent.
#pragma once
#include <string>

namespace seqnet {

std::string refs_dir();
std::string data_dir();
std::string baselines_dir();  // SEQNET_BASELINES, default ../shared/baselines
bool path_exists(const std::string& p);

// Every reader calls this before opening a file it was given: a FIFO or a device would block or
// never end, and a directory would fail later with a confusing message. Throws Error naming
// `what` (the reader) and the path: missing, a directory, or not a regular file.
void check_regular_file(const std::string& path, const std::string& what);

}  // namespace seqnet
