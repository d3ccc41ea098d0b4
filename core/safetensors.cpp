// core/safetensors.cpp — see safetensors.h for the file layout.
//
// Loading goes in three steps so that a corrupt file can never make us allocate or read garbage:
//   1. read the 8-byte header length and check it against the file size;
//   2. parse and validate the whole JSON header (every entry, every offset against the size of
//      the data section, overlaps, duplicates) — nothing is allocated for tensors yet;
//   3. allocate each tensor (its size is now known to fit in the file) and read its bytes.
// Saving builds the header, writes header + data to `<path>.tmp.<pid>.<n>`, flushes and fsyncs
// it, and renames it over `path`; on any failure the temporary file is removed.
#include "core/paths.h"
#include "core/safetensors.h"

#include "core/json.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/atomic_file.h"

namespace seqnet {

// The data section is copied byte for byte into tensor memory, so the host must be little-endian
// like the format (every platform seqnet targets is).
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using Json = nlohmann::ordered_json;  // keeps the key order of the file

constexpr const char* kMetadataKey = "__metadata__";
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // 100 MiB: far beyond any real header

[[noreturn]] void fail_file(const std::string& path, const std::string& what) {
  throw Error(fmt::format("safetensors: {}: {}", path, what));
}

std::string errno_str() { return std::strerror(errno); }

// ---- dtype names as written in the file ------------------------------------------------------

const char* dtype_tag(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
  }
  return "?";
}

std::optional<DType> dtype_from_tag(const std::string& s) {
  if (s == "F32") return DType::F32;
  if (s == "F64") return DType::F64;
  if (s == "I64") return DType::I64;
  return std::nullopt;
}

// ---- small helpers -----------------------------------------------------------------------------

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

// A JSON integer that fits in int64 (negative allowed), or nullopt for anything else
// (floats, strings, integers >= 2^63).
std::optional<int64_t> json_int64(const Json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(INT64_MAX)) return std::nullopt;
    return int64_t(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

// Parses the header text. nlohmann::json silently keeps only one value of a repeated key, so a
// parser callback records the first key that repeats inside any object.
Json parse_header(const std::string& path, const std::string& text) {
  std::vector<std::set<std::string>> open_objects;  // keys seen so far in each enclosing object
  std::string duplicate;
  bool duplicate_is_tensor = false;  // the duplicate is a top-level key (a tensor name)
  auto callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case Json::parse_event_t::object_end: open_objects.pop_back(); break;
      case Json::parse_event_t::key:
        if (!open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
          duplicate = parsed.get<std::string>();
          duplicate_is_tensor = open_objects.size() == 1;
        }
        break;
      default: break;
    }
    return true;  // keep everything
  };
  check_json_nesting(text, path + ": header");
  Json header;
  try {
    header = Json::parse(text, callback);
  } catch (const Json::exception& e) {
    // nlohmann quotes the token it last read, which may be the whole header: cut it.
    fail_file(path, fmt::format("invalid JSON header: {}", text_excerpt(e.what(), 200)));
  }
  if (!duplicate.empty()) {
    if (duplicate_is_tensor)
      fail_file(path, fmt::format("duplicate tensor name '{}' in the header", text_excerpt(duplicate)));
    fail_file(path, fmt::format("duplicate key '{}' inside a header entry", text_excerpt(duplicate)));
  }
  return header;
}

// One validated tensor entry of the header.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;  // byte range in the data section
};

// Validates one `"name": {...}` entry against a data section of `data_bytes` bytes.
Entry parse_entry(const std::string& path, const std::string& name, const Json& v, uint64_t data_bytes) {
  auto bad = [&](const std::string& what) {
    fail_file(path, fmt::format("tensor '{}': {}", text_excerpt(name), what));
  };

  if (!v.is_object()) bad(fmt::format("entry must be an object with dtype, shape and data_offsets, got {}", v.type_name()));
  for (const auto& [key, value] : v.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      bad(fmt::format("unknown field '{}'", text_excerpt(key)));
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!v.contains(field)) bad(fmt::format("missing field '{}'", field));

  Entry e;
  e.name = name;

  // dtype
  const Json& dt = v["dtype"];
  if (!dt.is_string()) bad(fmt::format("\"dtype\" must be a string, got {}", json_excerpt(dt)));
  std::optional<DType> dtype = dtype_from_tag(dt.get<std::string>());
  if (!dtype)
    bad(fmt::format("unsupported dtype '{}' (seqnet reads F32, F64 and I64)", text_excerpt(dt.get<std::string>())));
  e.dtype = *dtype;

  // shape: non-negative integers whose sizes (and strides) fit in int64
  const Json& sh = v["shape"];
  if (!sh.is_array()) bad(fmt::format("\"shape\" must be an array of integers, got {}", json_excerpt(sh)));
  for (const Json& d : sh) {
    std::optional<int64_t> n = json_int64(d);
    if (!n) bad(fmt::format("\"shape\" must be an array of integers, got {}", json_excerpt(sh)));
    e.shape.push_back(*n);
  }
  for (int64_t d : e.shape)
    if (d < 0) bad(fmt::format("negative dimension {} in shape {}", d, shape_str(e.shape)));
  int64_t bound = int64_t(dtype_size(e.dtype));  // product of max(d, 1): also bounds the strides
  for (int64_t d : e.shape)
    if (__builtin_mul_overflow(bound, std::max<int64_t>(d, 1), &bound))
      bad(fmt::format("shape {} is too large", shape_str(e.shape)));
  const uint64_t nbytes = uint64_t(shape_numel(e.shape)) * dtype_size(e.dtype);

  // data_offsets
  const Json& off = v["data_offsets"];
  std::optional<int64_t> b, en;
  if (off.is_array() && off.size() == 2) b = json_int64(off[0]), en = json_int64(off[1]);
  if (!b || !en || *b < 0 || *en < 0)
    bad(fmt::format("\"data_offsets\" must be [begin, end] with two non-negative integers, got {}", json_excerpt(off)));
  e.begin = uint64_t(*b);
  e.end = uint64_t(*en);
  if (e.end < e.begin) bad(fmt::format("data_offsets [{}, {}] have end < begin", e.begin, e.end));
  if (e.end > data_bytes)
    bad(fmt::format("data_offsets [{}, {}] lie outside the data section of {} bytes (truncated file?)", e.begin,
                    e.end, data_bytes));
  if (e.end - e.begin != nbytes)
    bad(fmt::format("data_offsets [{}, {}] span {} bytes but dtype {} with shape {} needs {} bytes", e.begin, e.end,
                    e.end - e.begin, dtype_tag(e.dtype), shape_str(e.shape), nbytes));
  return e;
}

// Fails if two non-empty byte ranges intersect. Sorts `entries` by offset.
void check_no_overlap(const std::string& path, std::vector<Entry>& entries) {
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const Entry* furthest = nullptr;  // the entry seen so far that ends last
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;  // an empty tensor occupies no bytes
    if (furthest && e.begin < furthest->end)
      fail_file(path, fmt::format("tensor '{}' (bytes [{}, {})) overlaps tensor '{}' (bytes [{}, {}))",
                                  text_excerpt(e.name), e.begin, e.end, text_excerpt(furthest->name), furthest->begin,
                                  furthest->end));
    if (!furthest || e.end > furthest->end) furthest = &e;
  }
}

void read_exact(FILE* f, void* dst, size_t n, const std::string& path, const std::string& what) {
  if (n == 0) return;
  size_t got = std::fread(dst, 1, n, f);
  if (got != n)
    fail_file(path, fmt::format("file is truncated or unreadable while reading {} (got {} of {} bytes)", what, got, n));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SafetensorsFile
// ---------------------------------------------------------------------------------------------

bool SafetensorsFile::contains(const std::string& name) const {
  return std::any_of(tensors.begin(), tensors.end(), [&](const auto& p) { return p.first == name; });
}

const Tensor& SafetensorsFile::get(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  constexpr size_t kShown = 8;
  std::vector<std::string> names;
  for (size_t i = 0; i < tensors.size() && i < kShown; ++i)
    names.push_back(fmt::format("'{}'", text_excerpt(tensors[i].first)));
  if (tensors.size() > kShown) names.push_back("...");
  throw Error(fmt::format("safetensors: {}: no tensor named '{}' (the file has {} tensors: {})", path, name,
                          tensors.size(), fmt::join(names, ", ")));
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

SafetensorsFile load_safetensors(const std::string& path) {
  check_regular_file(path, "safetensors");  // before fopen: a FIFO would block it
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) fail_file(path, "cannot open for reading: " + errno_str());
  struct stat st {};
  if (fstat(fileno(file.get()), &st) != 0) fail_file(path, "cannot stat: " + errno_str());
  if (!S_ISREG(st.st_mode)) fail_file(path, "not a regular file");
  const uint64_t file_size = uint64_t(st.st_size);

  // 1. header length
  if (file_size < 8)
    fail_file(path, fmt::format("file is only {} bytes long, shorter than the 8-byte header length", file_size));
  unsigned char len_bytes[8];
  read_exact(file.get(), len_bytes, 8, path, "the header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > kMaxHeaderBytes)
    fail_file(path, fmt::format("header length {} is absurd (limit {} bytes); not a safetensors file?", header_len,
                                kMaxHeaderBytes));
  if (header_len > file_size - 8)
    fail_file(path, fmt::format("header length {} exceeds the file size ({} bytes)", header_len, file_size));
  const uint64_t data_bytes = file_size - 8 - header_len;

  // 2. header
  std::string text(size_t(header_len), '\0');
  read_exact(file.get(), text.data(), text.size(), path, "the header");
  Json header = parse_header(path, text);
  if (!header.is_object()) fail_file(path, fmt::format("header is not a JSON object (got {})", header.type_name()));

  SafetensorsFile out;
  out.path = path;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      if (!value.is_object())
        fail_file(path, fmt::format("\"__metadata__\" must be an object of strings, got {}", value.type_name()));
      for (const auto& [key, s] : value.items()) {
        if (!s.is_string())
          fail_file(path, fmt::format("\"__metadata__\" value of '{}' must be a string, got {}", text_excerpt(key),
                                      json_excerpt(s)));
        out.metadata[key] = s.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, name, value, data_bytes));
  }
  check_no_overlap(path, entries);

  // 3. data: every entry now fits inside the file, so the allocations are bounded by its size.
  const uint64_t data_start = 8 + header_len;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (e.end > e.begin) {
      if (fseeko(file.get(), off_t(data_start + e.begin), SEEK_SET) != 0)
        fail_file(path, fmt::format("cannot seek to tensor '{}': {}", text_excerpt(e.name), errno_str()));
      read_exact(file.get(), t.raw_data(), size_t(e.end - e.begin), path,
                 fmt::format("tensor '{}'", text_excerpt(e.name)));
    }
    out.tensors.emplace_back(e.name, std::move(t));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Saving
// ---------------------------------------------------------------------------------------------


void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // 1. Validate and build the header before touching the disk.
  std::set<std::string> seen;
  std::vector<Tensor> contiguous;
  Json header = Json::object();
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    if (name.empty()) fail_file(path, fmt::format("tensor #{} has an empty name", i));
    if (name == kMetadataKey) fail_file(path, "'__metadata__' is reserved and cannot be a tensor name");
    if (!seen.insert(name).second) fail_file(path, fmt::format("duplicate tensor name '{}'", name));
    if (!t.defined()) fail_file(path, fmt::format("tensor '{}' is undefined", name));
    Tensor c = t.to(Device::cpu()).contiguous();  // a file is device-independent
    const uint64_t nbytes = uint64_t(c.numel()) * dtype_size(c.dtype());
    header[name] = {{"dtype", dtype_tag(c.dtype())}, {"shape", c.shape()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    contiguous.push_back(std::move(c));
  }
  if (!metadata.empty()) header[kMetadataKey] = metadata;

  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception& e) {  // e.g. a name that is not valid UTF-8
    fail_file(path, fmt::format("cannot encode the header: {}", e.what()));
  }
  text.resize((text.size() + 7) / 8 * 8, ' ');  // pad so the data section starts 8-byte aligned

  // 2. Write everything to a temporary file and rename it over the target.
  AtomicFile tmp(path, "safetensors");
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(uint64_t(text.size()) >> (8 * i));
  tmp.write(len_bytes, 8);
  tmp.write(text.data(), text.size());
  for (const Tensor& c : contiguous) tmp.write(c.raw_data(), size_t(c.numel()) * dtype_size(c.dtype()));
  tmp.commit();
}

}  // namespace seqnet
