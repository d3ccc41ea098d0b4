// tests/test_atomic_file.cpp — core/atomic_file: readers see the old or the new file, never a
// partial one, and no temporary file is left behind whatever happens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/atomic_file.h"
#include "core/error.h"
#include "tests/test_util.h"

using namespace seqnet;
using seqnet::testing::read_file;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / fmt::format("seqnet_atomic_{}_{}", name, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

size_t entries(const fs::path& d) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d)) ++n;
  return n;
}

}  // namespace

TEST(AtomicFile, WritesAndReplacesLeavingNoTemporaryFile) {
  const fs::path d = fresh_dir("replace");
  const std::string p = (d / "x.json").string();
  write_file_atomic(p, "first\n", "test");
  EXPECT_EQ(read_file(p), "first\n");
  write_file_atomic(p, std::string(100000, 'z'), "test");
  EXPECT_EQ(read_file(p), std::string(100000, 'z'));
  EXPECT_EQ(entries(d), 1u);
  fs::remove_all(d);
}

TEST(AtomicFile, AnInterruptedWriteKeepsThePreviousFile) {
  const fs::path d = fresh_dir("interrupt");
  const std::string p = (d / "ck.bin").string();
  write_file_atomic(p, "old content", "test");
  try {
    AtomicFile f(p, "test");
    f.write("new con", 7);
    EXPECT_TRUE(fs::exists(f.temp_path()));
    throw std::runtime_error("interrupted");  // leaves scope without commit()
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(read_file(p), "old content");
  EXPECT_EQ(entries(d), 1u) << "the temporary file was left behind";
  fs::remove_all(d);
}

TEST(AtomicFile, DescriptorWritersAndMisuse) {
  const fs::path d = fresh_dir("fd");
  const std::string p = (d / "raw.bin").string();
  AtomicFile f(p, "test");
  ASSERT_EQ(::write(f.fd(), "abc", 3), 3);
  f.commit();
  EXPECT_EQ(read_file(p), "abc");
  EXPECT_THAT([&] { f.write("x", 1); }, ::testing::ThrowsMessage<Error>(HasSubstr("after commit")));
  EXPECT_THAT([&] { f.commit(); }, ::testing::ThrowsMessage<Error>(HasSubstr("twice")));
  fs::remove_all(d);
}

TEST(AtomicFile, ErrorsNameTheWriterAndTheTarget) {
  const std::string p = "/nonexistent_seqnet_dir/out.svg";
  EXPECT_THAT([&] { write_file_atomic(p, "x", "plot"); },
              ::testing::ThrowsMessage<Error>(::testing::AllOf(HasSubstr("plot: /nonexistent_seqnet_dir/out.svg"),
                                                    HasSubstr("cannot create temporary file"))));
}
