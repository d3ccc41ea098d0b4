// core/safetensors.h — reading and writing tensors in the safetensors format.
//
// A .safetensors file is:
//
//   [ 8 bytes ]  N, the header length, an unsigned 64-bit little-endian integer
//   [ N bytes ]  a JSON object (padded with spaces to a multiple of 8 bytes when we write):
//                  { "<name>": { "dtype": "F32" | "F64" | "I64",
//                                "shape": [d0, d1, ...],
//                                "data_offsets": [begin, end] },
//                    ...,
//                    "__metadata__": { "<key>": "<string value>", ... } }   (optional)
//   [ rest    ]  the data section: each tensor's raw little-endian, C-contiguous (row-major)
//                bytes at [begin, end) relative to the start of this section.
//
// This is the format PyTorch / Hugging Face use for model weights; the reference data of seqnet
// (refs_dir()) is stored in it, and seqnet's checkpoints are written in it.
//
// load_safetensors validates everything (dtype, shapes, offsets against the file size, overlaps,
// duplicate names, metadata types) before allocating anything and throws seqnet::Error naming the
// file and the problem; it never returns a partially read file. save_safetensors writes atomically:
// to a temporary file in the same folder that is renamed over the target only when complete.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace seqnet {

struct SafetensorsFile {
  // The tensors in the order of their data offsets (= the order a writer stored them). Each is a
  // fresh, contiguous CPU tensor.
  std::vector<std::pair<std::string, Tensor>> tensors;
  // The "__metadata__" entry of the header (string -> string); empty if absent.
  std::map<std::string, std::string> metadata;
  // The file this was loaded from (used in error messages).
  std::string path;

  bool contains(const std::string& name) const;
  // The tensor called `name`; throws an Error naming the file, the key and some available names.
  const Tensor& get(const std::string& name) const;
};

// Reads a whole file. Accepts dtypes F32, F64 and I64; throws seqnet::Error for anything else.
SafetensorsFile load_safetensors(const std::string& path);

// Writes `tensors` in the given order (each made contiguous, packed without gaps) and `metadata`.
// Atomic: the file at `path` is replaced only once the new one is completely on disk. Throws
// seqnet::Error naming `path` on duplicate / reserved / empty names, undefined tensors, or I/O errors.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace seqnet
