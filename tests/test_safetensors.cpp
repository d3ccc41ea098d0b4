// tests/test_safetensors.cpp — the safetensors reader/writer (core/safetensors.h).
//
//  * round trips of every dtype, with non-contiguous views, 0-d and zero-size tensors, metadata;
//  * every reference file in refs_dir() loads with the names/dtypes/shapes/metadata INDEX.md lists;
//  * hand-made corrupt files are each rejected with an Error naming the file and the problem;
//  * saving is atomic: a failed save leaves the previous file intact and no temporary file behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/paths.h"
#include "core/safetensors.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using seqnet::DType;
using seqnet::Error;
using seqnet::Shape;
using seqnet::Tensor;
using seqnet::testing::read_file;
using testing::HasSubstr;
using Json = nlohmann::ordered_json;

namespace {

// ---- helpers -----------------------------------------------------------------------------------

// A fresh, empty folder per test, removed afterwards.
class SafetensorsTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    tmp_.emplace(fmt::format("st_{}", info->name()));
    dir_ = tmp_->path();
  }
  void TearDown() override { tmp_.reset(); }
  std::string file(const std::string& name) const { return tmp_->file(name); }

  // Names of everything in the folder (to spot leftover temporary files).
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  std::optional<seqnet::testing::TempDir> tmp_;
  fs::path dir_;
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string u64_le(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return s;
}

// A file with the given header text and `data_bytes` bytes of data (0x11 each).
std::string make_file(const std::string& header, size_t data_bytes) {
  return u64_le(header.size()) + header + std::string(data_bytes, '\x11');
}

// Loads `path`, expects an Error that names the file and contains `phrase`.
void expect_load_error(const std::string& path, const std::string& phrase) {
  try {
    seqnet::load_safetensors(path);
    ADD_FAILURE() << "loading " << path << " should fail with '" << phrase << "'";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path));
    EXPECT_THAT(e.what(), HasSubstr(phrase));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected seqnet::Error, got another exception: " << e.what();
  }
}

// Saves and expects an Error that names the file and contains `phrase`.
void expect_save_error(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::string& phrase) {
  try {
    seqnet::save_safetensors(path, tensors);
    ADD_FAILURE() << "saving " << path << " should fail with '" << phrase << "'";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path));
    EXPECT_THAT(e.what(), HasSubstr(phrase));
  }
}

template <typename T>
std::vector<T> values_of(const Tensor& t) {
  return t.contiguous().to_vector<T>();
}

// Bitwise equality of two tensors (same dtype, shape and bytes; NaN payloads and -0.0 included).
void expect_bit_equal(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.dtype(), b.dtype()) << what;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  Tensor ca = a.contiguous(), cb = b.contiguous();
  size_t n = size_t(a.numel()) * seqnet::dtype_size(a.dtype());
  EXPECT_EQ(0, n == 0 ? 0 : std::memcmp(ca.raw_data(), cb.raw_data(), n)) << what << " differs";
}

std::vector<std::string> names_of(const seqnet::SafetensorsFile& f) {
  std::vector<std::string> v;
  for (const auto& [n, t] : f.tensors) v.push_back(n);
  return v;
}

// ---- round trips -------------------------------------------------------------------------------

TEST_F(SafetensorsTest, RoundTripAllDtypesViewsAndMetadata) {
  const float fnan = std::bit_cast<float>(0x7fc01234u);  // a NaN with a payload
  Tensor f32 = Tensor::from_vector<float>({1.5f, -0.0f, fnan, std::numeric_limits<float>::infinity(),
                                           std::numeric_limits<float>::denorm_min(), 3.25e38f},
                                          {2, 3});
  Tensor base64 = Tensor::from_vector<double>({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2}, {3, 4});
  Tensor f64_t = base64.transpose(0, 1);  // (4, 3), non-contiguous
  ASSERT_FALSE(f64_t.is_contiguous());
  Tensor i64 = Tensor::from_vector<int64_t>(
      {std::numeric_limits<int64_t>::min(), -1, 0, 1, std::numeric_limits<int64_t>::max()}, {5});
  Tensor scalar = Tensor::scalar(2.5, DType::F64);  // 0-d
  Tensor empty = Tensor::empty({0, 3}, DType::F32);
  Tensor expanded = Tensor::from_vector<int64_t>({7, 8}, {2, 1}).expand({2, 3});  // stride-0 view
  Tensor narrowed = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {6}).narrow(0, 2, 3);  // offset view

  // Not alphabetical, to check that the stored order is the given order.
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"zeta.f32", f32},   {"alpha.f64_transposed", f64_t}, {"mid.i64", i64},          {"scalar", scalar},
      {"empty", empty},    {"expanded", expanded},          {"narrowed", narrowed},
  };
  std::map<std::string, std::string> meta = {{"config", R"({"a": [1, 2], "b": "x"})"}, {"empty", ""},
                                             {"unicode", "µ-law ✓"}};
  const std::string path = file("rt.safetensors");
  seqnet::save_safetensors(path, tensors, meta);

  seqnet::SafetensorsFile f = seqnet::load_safetensors(path);
  EXPECT_EQ(f.path, path);
  EXPECT_EQ(names_of(f), (std::vector<std::string>{"zeta.f32", "alpha.f64_transposed", "mid.i64", "scalar", "empty",
                                                   "expanded", "narrowed"}));
  EXPECT_EQ(f.metadata, meta);
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(f.contains(name)) << name;
    const Tensor& got = f.get(name);
    EXPECT_TRUE(got.is_contiguous()) << name;
    expect_bit_equal(got, t, name);
  }
  // Spot checks that do not go through the same byte comparison.
  EXPECT_EQ(values_of<double>(f.get("alpha.f64_transposed")),
            (std::vector<double>{0.1, 0.5, 0.9, 0.2, 0.6, 1.0, 0.3, 0.7, 1.1, 0.4, 0.8, 1.2}));
  EXPECT_EQ(f.get("scalar").dim(), 0);
  EXPECT_EQ(f.get("scalar").item(), 2.5);
  EXPECT_EQ(f.get("empty").shape(), (Shape{0, 3}));
  EXPECT_EQ(values_of<int64_t>(f.get("expanded")), (std::vector<int64_t>{7, 7, 7, 8, 8, 8}));
  EXPECT_EQ(values_of<float>(f.get("narrowed")), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(std::bit_cast<uint32_t>(f.get("zeta.f32").data<float>()[2]), 0x7fc01234u);
  EXPECT_TRUE(std::signbit(f.get("zeta.f32").data<float>()[1]));
  EXPECT_FALSE(f.contains("missing"));
  // The source view is untouched by saving.
  EXPECT_FALSE(f64_t.is_contiguous());
  EXPECT_EQ(f64_t.at<double>({0, 1}), 0.5);
}

// Checks the bytes on disk independently of our reader: header length padded to 8, offsets packed
// in the given order without gaps, file size = 8 + N + data.
TEST_F(SafetensorsTest, WrittenLayoutIsStandard) {
  const std::string path = file("layout.safetensors");
  seqnet::save_safetensors(path,
                           {{"b", Tensor::arange(3, DType::F32)},
                            {"a", Tensor::arange(2, DType::I64)},
                            {"c", Tensor::empty({0}, DType::F64)},
                            {"d", Tensor::scalar(1.0, DType::F64)}},
                           {{"k", "v"}});
  const std::string bytes = read_file(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_LE(8 + n, bytes.size());
  auto header = Json::parse(bytes.substr(8, n));
  std::vector<std::string> keys;
  for (const auto& [k, v] : header.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "a", "c", "d", "__metadata__"}));
  EXPECT_EQ(header["b"]["dtype"], "F32");
  EXPECT_EQ(header["b"]["data_offsets"], Json::array({0, 12}));
  EXPECT_EQ(header["a"]["dtype"], "I64");
  EXPECT_EQ(header["a"]["data_offsets"], Json::array({12, 28}));
  EXPECT_EQ(header["c"]["shape"], Json::array({0}));
  EXPECT_EQ(header["c"]["data_offsets"], Json::array({28, 28}));
  EXPECT_EQ(header["d"]["shape"], Json::array());
  EXPECT_EQ(header["d"]["data_offsets"], Json::array({28, 36}));
  EXPECT_EQ(header["__metadata__"]["k"], "v");
  EXPECT_EQ(bytes.size(), 8 + n + 36);
  float third;
  std::memcpy(&third, bytes.data() + 8 + n + 8, 4);
  EXPECT_EQ(third, 2.0f);
}

TEST_F(SafetensorsTest, EmptyFileListRoundTrips) {
  const std::string path = file("empty.safetensors");
  seqnet::save_safetensors(path, {});
  auto f = seqnet::load_safetensors(path);
  EXPECT_TRUE(f.tensors.empty());
  EXPECT_TRUE(f.metadata.empty());
}

TEST_F(SafetensorsTest, GetNamesFileKeyAndAvailableNames) {
  const std::string path = file("get.safetensors");
  seqnet::save_safetensors(path, {{"weight", Tensor::zeros({2})}, {"bias", Tensor::zeros({1})}});
  auto f = seqnet::load_safetensors(path);
  try {
    f.get("wieght");
    ADD_FAILURE() << "get of a missing name should throw";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path));
    EXPECT_THAT(e.what(), HasSubstr("'wieght'"));
    EXPECT_THAT(e.what(), HasSubstr("'weight'"));
    EXPECT_THAT(e.what(), HasSubstr("'bias'"));
  }
}

// ---- reference files -------------------------------------------------------------------------

struct IndexedFile {
  std::vector<std::tuple<std::string, std::string, Shape>> tensors;  // name, dtype, shape
  std::map<std::string, std::string> metadata;                       // "- key: `value`" lines
};

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Parses refs/INDEX.md: "## <file>" sections with "- key: `value`" and "| name | F32 | [2, 5] |" rows.
std::map<std::string, IndexedFile> parse_index(const std::string& path) {
  std::map<std::string, IndexedFile> out;
  std::ifstream in(path);
  std::string line;
  IndexedFile* cur = nullptr;
  while (std::getline(in, line)) {
    if (line.starts_with("## ")) {
      cur = &out[line.substr(3)];
    } else if (cur && line.starts_with("- ") && line.ends_with("`")) {
      size_t colon = line.find(": `");
      if (colon != std::string::npos)
        cur->metadata[line.substr(2, colon - 2)] = line.substr(colon + 3, line.size() - colon - 4);
    } else if (cur && line.starts_with("| ") && line.ends_with("] |")) {  // a tensor row, not the table head
      std::vector<std::string> cells;  // "| a | b | c |" -> "", "a", "b", "c"
      std::stringstream ss(line);
      for (std::string cell; std::getline(ss, cell, '|');) cells.push_back(trim(cell));
      if (cells.size() != 4) continue;
      Shape shape;
      std::stringstream dims(cells[3].substr(1, cells[3].size() - 2));  // strip [ ]
      for (std::string d; std::getline(dims, d, ',');) shape.push_back(std::stoll(d));
      cur->tensors.emplace_back(cells[1], cells[2], shape);
    }
  }
  return out;
}

std::string dtype_tag(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
  }
  return "?";
}

TEST(SafetensorsRefs, EveryReferenceFileMatchesIndex) {
  const std::string refs = seqnet::refs_dir();
  if (!seqnet::path_exists(refs)) GTEST_SKIP() << "reference data not found at " << refs << " (set SEQNET_REFS)";
  const std::string index_path = refs + "/INDEX.md";
  ASSERT_TRUE(seqnet::path_exists(index_path)) << index_path;
  const auto index = parse_index(index_path);
  ASSERT_FALSE(index.empty()) << "no sections parsed from " << index_path;

  int files = 0;
  for (const auto& entry : fs::directory_iterator(refs)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".safetensors") continue;
    SCOPED_TRACE(name);
    ++files;
    auto it = index.find(name);
    ASSERT_NE(it, index.end()) << name << " is not listed in INDEX.md";
    const IndexedFile& want = it->second;

    seqnet::SafetensorsFile f = seqnet::load_safetensors(entry.path().string());
    ASSERT_EQ(f.tensors.size(), want.tensors.size());
    ASSERT_FALSE(f.tensors.empty());
    for (size_t i = 0; i < f.tensors.size(); ++i) {
      const auto& [tname, t] = f.tensors[i];
      const auto& [wname, wdtype, wshape] = want.tensors[i];
      EXPECT_EQ(tname, wname) << "tensor #" << i;  // INDEX lists tensors in stored order
      EXPECT_EQ(dtype_tag(t.dtype()), wdtype) << tname;
      EXPECT_EQ(t.shape(), wshape) << tname;
    }
    for (const auto& [key, value] : want.metadata) {
      ASSERT_TRUE(f.metadata.count(key)) << "metadata '" << key << "' missing";
      EXPECT_EQ(f.metadata.at(key), value) << key;
    }
    const bool model_file = name.ends_with(".params.safetensors") || name.ends_with(".data.safetensors");
    if (model_file) {
      ASSERT_TRUE(f.metadata.count("config")) << "no __metadata__ config";
      auto config = nlohmann::json::parse(f.metadata.at("config"));  // a JSON string
      EXPECT_TRUE(config.is_object());
    }
  }
  EXPECT_EQ(size_t(files), index.size()) << "INDEX.md and the folder list different files";

  // Values, not just headers: the mu-law codes are integers in [0, 256).
  const std::string mulaw = refs + "/mulaw.safetensors";
  if (seqnet::path_exists(mulaw)) {
    auto f = seqnet::load_safetensors(mulaw);
    for (int64_t c : values_of<int64_t>(f.get("codes"))) {
      EXPECT_GE(c, 0);
      EXPECT_LT(c, 256);
    }
    for (float x : values_of<float>(f.get("x"))) EXPECT_TRUE(std::isfinite(x) && std::fabs(x) <= 1.0f);
  }
}

// ---- corrupt files -------------------------------------------------------------------------------

TEST_F(SafetensorsTest, RejectsMissingAndUnreadableFiles) {
  expect_load_error(file("does_not_exist.safetensors"), "cannot open");
  expect_load_error(dir_.string(), "not a regular file");
}

TEST_F(SafetensorsTest, RejectsBadHeaderLength) {
  const std::string p = file("x.safetensors");
  write_bytes(p, "");
  expect_load_error(p, "shorter than the 8-byte header length");
  write_bytes(p, std::string("\x05\0\0\0", 4));
  expect_load_error(p, "shorter than the 8-byte header length");
  write_bytes(p, u64_le(100) + "{}");
  expect_load_error(p, "header length 100 exceeds the file size");
  write_bytes(p, u64_le(uint64_t(1) << 62) + "{}");
  expect_load_error(p, "is absurd");
  write_bytes(p, u64_le(~uint64_t(0)) + "{}");
  expect_load_error(p, "is absurd");
}

TEST_F(SafetensorsTest, RejectsInvalidJson) {
  const std::string p = file("x.safetensors");
  write_bytes(p, make_file(R"({"a": {"dtype": "F32", )", 0));
  expect_load_error(p, "invalid JSON header: [json.exception.parse_error");
  write_bytes(p, make_file("", 0));
  expect_load_error(p, "invalid JSON header");
  write_bytes(p, make_file("[1, 2]", 0));
  expect_load_error(p, "header is not a JSON object (got array)");
  write_bytes(p, make_file("\"abc\"", 0));
  expect_load_error(p, "header is not a JSON object (got string)");
}

TEST_F(SafetensorsTest, RejectsUnsupportedDtypes) {
  const std::string p = file("x.safetensors");
  for (const char* dt : {"F16", "BF16", "I32", "U8", "BOOL", "f32", ""}) {
    write_bytes(p, make_file(fmt::format(R"({{"w": {{"dtype": "{}", "shape": [2], "data_offsets": [0, 4]}}}})", dt), 4));
    expect_load_error(p, fmt::format("unsupported dtype '{}'", dt));
  }
  write_bytes(p, make_file(R"({"w": {"dtype": 3, "shape": [2], "data_offsets": [0, 8]}})", 8));
  expect_load_error(p, "\"dtype\" must be a string");
}

TEST_F(SafetensorsTest, RejectsMalformedEntries) {
  const std::string p = file("x.safetensors");
  struct Case {
    const char* header;
    const char* phrase;
  };
  const Case cases[] = {
      {R"({"w": [1, 2]})", "tensor 'w': entry must be an object"},
      {R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", "tensor 'w': missing field 'dtype'"},
      {R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", "tensor 'w': missing field 'shape'"},
      {R"({"w": {"dtype": "F32", "shape": [2]}})", "tensor 'w': missing field 'data_offsets'"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "extra": 1}})", "unknown field 'extra'"},
      {R"({"w": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}})", "\"shape\" must be an array of integers"},
      {R"({"w": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}})", "\"shape\" must be an array of integers"},
      {R"({"w": {"dtype": "F32", "shape": ["2"], "data_offsets": [0, 8]}})", "\"shape\" must be an array of integers"},
      {R"({"w": {"dtype": "F32", "shape": [2, -3], "data_offsets": [0, 8]}})", "negative dimension -3"},
      {R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 0], "data_offsets": [0, 0]}})", "is too large"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", "\"data_offsets\" must be [begin, end]"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 16]}})", "\"data_offsets\" must be [begin, end]"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": {"a": 0}}})", "\"data_offsets\" must be [begin, end]"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}})", "\"data_offsets\" must be [begin, end]"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 18446744073709551615]}})",
       "\"data_offsets\" must be [begin, end]"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", "end < begin"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}})", "outside the data section of 8 bytes"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", "span 4 bytes but dtype F32 with shape [2] needs 8"},
      {R"({"w": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}})", "span 8 bytes but dtype F64 with shape [2] needs 16"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "__metadata__": {"n": 3}})",
       "\"__metadata__\" value of 'n' must be a string"},
      {R"({"__metadata__": ["a"]})", "\"__metadata__\" must be an object of strings"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    write_bytes(p, make_file(c.header, 8));
    expect_load_error(p, c.phrase);
  }
}

TEST_F(SafetensorsTest, RejectsOverlapsAndDuplicates) {
  const std::string p = file("x.safetensors");
  write_bytes(p, make_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                              "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                           12));
  expect_load_error(p, "tensor 'b' (bytes [4, 12)) overlaps tensor 'a' (bytes [0, 8))");
  // Containment, listed in the other order.
  write_bytes(p, make_file(R"({"small": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
                              "big": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})",
                           16));
  expect_load_error(p, "tensor 'small' (bytes [4, 8)) overlaps tensor 'big'");
  // Two tensors sharing one range.
  write_bytes(p, make_file(R"({"a": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]},
                              "b": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})",
                           8));
  expect_load_error(p, "overlaps");
  // Duplicate tensor names (a JSON parser would silently keep one of them).
  write_bytes(p, make_file(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                              "w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                           16));
  expect_load_error(p, "duplicate tensor name 'w'");
  write_bytes(p, make_file(R"({"w": {"dtype": "F32", "dtype": "F64", "shape": [2], "data_offsets": [0, 8]}})", 8));
  expect_load_error(p, "duplicate key 'dtype'");

  // Zero-size tensors occupy no bytes and never overlap; this file is valid.
  write_bytes(p, make_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                              "e": {"dtype": "F32", "shape": [0, 5], "data_offsets": [4, 4]}})",
                           8));
  auto f = seqnet::load_safetensors(p);
  EXPECT_EQ(names_of(f), (std::vector<std::string>{"a", "e"}));
  EXPECT_EQ(f.get("e").shape(), (Shape{0, 5}));
}

TEST_F(SafetensorsTest, RejectsTruncatedFile) {
  const std::string good = file("good.safetensors"), bad = file("bad.safetensors");
  seqnet::save_safetensors(good, {{"a", Tensor::arange(10, DType::F64)}, {"b", Tensor::arange(10, DType::I64)}});
  const std::string bytes = read_file(good);
  ASSERT_NO_THROW(seqnet::load_safetensors(good));
  write_bytes(bad, bytes.substr(0, bytes.size() - 1));  // last byte missing
  expect_load_error(bad, "tensor 'b': data_offsets [80, 160] lie outside the data section of 159 bytes");
  write_bytes(bad, bytes.substr(0, bytes.size() - 100));  // into the first tensor
  expect_load_error(bad, "tensor 'a': data_offsets [0, 80] lie outside the data section of 60 bytes");
  write_bytes(bad, bytes.substr(0, 20));  // inside the header
  expect_load_error(bad, "exceeds the file size (20 bytes)");
}

// ---- atomic saving ------------------------------------------------------------------------------

TEST_F(SafetensorsTest, FailedSavesLeaveTheOldFileIntact) {
  const std::string path = file("model.safetensors");
  Tensor w = Tensor::from_vector<float>({1, 2, 3}, {3});
  seqnet::save_safetensors(path, {{"w", w}}, {{"step", "1"}});
  const std::string original = read_file(path);
  const std::vector<std::string> only_model = {"model.safetensors"};

  auto check_intact = [&](const char* what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(read_file(path), original);
    auto f = seqnet::load_safetensors(path);
    EXPECT_EQ(values_of<float>(f.get("w")), (std::vector<float>{1, 2, 3}));
    EXPECT_EQ(f.metadata.at("step"), "1");
    EXPECT_EQ(listing(), only_model);  // no temporary file left behind
  };

  Tensor other = Tensor::zeros({1000});
  expect_save_error(path, {{"v", other}, {"u", Tensor()}}, "tensor 'u' is undefined");
  check_intact("undefined tensor");
  expect_save_error(path, {{"v", other}, {"w", w}, {"v", w}}, "duplicate tensor name 'v'");
  check_intact("duplicate name");
  expect_save_error(path, {{"__metadata__", w}}, "reserved");
  check_intact("reserved name");
  expect_save_error(path, {{"", w}}, "empty name");
  check_intact("empty name");

  // A save that fails at the I/O level: the target path is a folder, so the final rename fails
  // after the data was written; the temporary file must be removed.
  const std::string folder = file("folder.safetensors");
  fs::create_directory(folder);
  expect_save_error(folder, {{"w", w}}, "cannot rename");
  fs::remove(folder);
  check_intact("rename onto a folder");

  // Saving into a folder that does not exist fails without creating anything.
  const std::string nowhere = file("no/such/dir/model.safetensors");
  expect_save_error(nowhere, {{"w", w}}, "cannot create temporary file");
  EXPECT_FALSE(fs::exists(file("no")));
  check_intact("missing folder");

  // A successful save replaces the content.
  seqnet::save_safetensors(path, {{"w", Tensor::from_vector<float>({9}, {1})}});
  auto f = seqnet::load_safetensors(path);
  EXPECT_EQ(values_of<float>(f.get("w")), (std::vector<float>{9}));
  EXPECT_TRUE(f.metadata.empty());
  EXPECT_EQ(listing(), only_model);
}

}  // namespace
