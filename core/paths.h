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

}  // namespace seqnet
