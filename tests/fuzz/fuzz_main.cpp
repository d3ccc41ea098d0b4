// tests/fuzz/fuzz_main.cpp — seqnet_fuzz, the deterministic mutation driver (issue #16).
//
//   seqnet_fuzz --target mat --mutants 2000           run 2000 mutants of the seeds in BUILD/fuzz_seeds/mat/
//   seqnet_fuzz --target mat --only 137               replay mutant 137 alone, printing its mutations
//   seqnet_fuzz --target mat --only 137 --write-mutant /tmp/m.mat   and keep the file
//   seqnet_fuzz --make-seeds DIR                      write the seeds (ctest's fuzz_seeds does, into BUILD/fuzz_seeds)
//
// Each seed is first read unmutated (it must be accepted: a refused seed would test nothing), then
// mutant i (i = 0 .. N-1, reproducible alone from --seed and i) is written to a temporary folder and
// given to the target's readers (targets.h). A clean seqnet::Error with a short message passes;
// everything else fails the run: another exception type, an empty or overlong message, an accepted
// input whose result is garbage, a crash or sanitizer report (the process dies), or a mutant that
// runs longer than --timeout seconds (a watchdog thread aborts the process, naming the mutant).
#include <cxxabi.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>
#include <thread>
#include <typeinfo>

#if SEQNET_HAVE_WAV_MAT
#include <matio.h>
#include <sndfile.h>
#endif

#include "tests/fuzz/mutate.h"
#include "tests/fuzz/targets.h"
#include "train/loop/trainer.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace seqnet::fuzz {
namespace {

constexpr size_t kMaxMessageChars = 2000;  // a refusal that long quotes the input instead of naming it
constexpr int kMaxReported = 20;           // failures printed in full; the rest are counted

std::string read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_bytes(const fs::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(data.data(), std::streamsize(data.size()));
  check(bool(f), "seqnet_fuzz: cannot write {}", p.string());
}

// A fresh folder under the system temp folder, removed with its contents when the object goes.
class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / fmt::format("seqnet_fuzz_{}", ::getpid())) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A seed: one file, or (text) a folder whose files are mutated one at a time.
struct Seed {
  fs::path path;
  bool folder;
  std::vector<std::string> files;  // folder seeds: the file names inside, sorted
};

std::vector<Seed> list_seeds(const fs::path& dir) {
  check(fs::is_directory(dir), "seqnet_fuzz: seed folder {} does not exist", dir.string());
  std::vector<Seed> seeds;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(".")) continue;
    Seed s{e.path(), e.is_directory(), {}};
    if (s.folder) {
      for (const auto& f : fs::directory_iterator(e.path()))
        if (f.is_regular_file()) s.files.push_back(f.path().filename().string());
      std::sort(s.files.begin(), s.files.end());
      if (s.files.empty()) continue;
    }
    seeds.push_back(std::move(s));
  }
  std::sort(seeds.begin(), seeds.end(), [](const Seed& a, const Seed& b) { return a.path < b.path; });
  check(!seeds.empty(), "seqnet_fuzz: no seeds in {}", dir.string());
  return seeds;
}

// One mutant, as written to disk: which seed, which file of it, and the operations applied.
struct Mutant {
  const Seed* seed = nullptr;
  std::string file;  // folder seeds: the mutated file
  std::string data;  // the mutated bytes
  std::vector<std::string> log;
};

Mutant make_mutant(const std::vector<Seed>& seeds, Format format, uint64_t seed, uint64_t index) {
  Rng rng = mutant_rng(seed, index);
  Mutant m;
  m.seed = &seeds[size_t(rng.below(seeds.size()))];
  fs::path src = m.seed->path;
  if (m.seed->folder) {
    m.file = m.seed->files[size_t(rng.below(m.seed->files.size()))];
    src /= m.file;
  }
  m.data = read_bytes(src);
  Mutator(rng, m.log).mutate(m.data, format);
  return m;
}

// Writes the mutant (or the unmutated seed when m.log is empty and data is the seed) where the
// target reads it; returns the path to give the target. `work` is emptied first.
std::string place(const Mutant& m, const fs::path& work) {
  fs::remove_all(work);
  fs::create_directories(work);
  if (!m.seed->folder) {
    const fs::path p = work / ("mutant" + m.seed->path.extension().string());
    write_bytes(p, m.data);
    return p.string();
  }
  for (const std::string& f : m.seed->files)
    if (f != m.file) fs::copy_file(m.seed->path / f, work / f);
  write_bytes(work / m.file, m.data);
  return work.string();
}

std::string describe(const Mutant& m) {
  std::string s = m.seed->path.filename().string();
  if (m.seed->folder) s += "/" + m.file;
  if (m.log.empty()) return s + " (unmutated)";
  for (const std::string& l : m.log) s += "\n      " + l;
  return s;
}

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> p(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  return status == 0 && p ? p.get() : name;
}

// What one run of a target on one input gave: "" when fine, else why it fails.
struct Outcome {
  bool accepted = false;
  std::string message;  // the refusal (accepted == false and failure empty)
  std::string failure;
};

Outcome run_one(const Target& t, const std::string& path) {
  Outcome o;
  try {
    t.run(path);
    o.accepted = true;
  } catch (const Insane& e) {
    o.failure = fmt::format("accepted, but the result is garbage: {}", e.what());
  } catch (const Error& e) {
    o.message = e.what();
    if (o.message.empty()) o.failure = "refused with an empty message";
    else if (o.message.size() > kMaxMessageChars)
      o.failure = fmt::format("refused with a {}-character message (limit {}): {}…", o.message.size(),
                              kMaxMessageChars, o.message.substr(0, 300));
  } catch (const std::exception& e) {
    o.failure = fmt::format("escaped as {}: {}", demangle(typeid(e).name()), e.what());
  } catch (...) {
    o.failure = "escaped as an exception of unknown type";
  }
  return o;
}

// Aborts the process when the mutant being run takes longer than `limit`; started per run.
class Watchdog {
 public:
  Watchdog(std::string target, uint64_t seed, double limit_s)
      : target_(std::move(target)), seed_(seed), limit_(std::chrono::duration<double>(limit_s)) {
    thread_ = std::jthread([this](std::stop_token stop) {
      while (!stop.stop_requested()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        const int64_t i = index_.load();
        if (i == kIdle) continue;
        const auto started = Clock::time_point(Clock::duration(started_.load()));
        if (Clock::now() - started > limit_) {
          std::fflush(stdout);  // what --only printed about the mutant
          if (i < 0)
            std::fprintf(stderr, "seqnet_fuzz: HANG: target %s, an unmutated seed ran longer than %.0f s\n",
                         target_.c_str(), limit_.count());
          else
            std::fprintf(stderr,
                         "seqnet_fuzz: HANG: target %s, mutant %lld ran longer than %.0f s; replay with\n"
                         "  seqnet_fuzz --target %s --seed %llu --only %lld\n",
                         target_.c_str(), (long long)i, limit_.count(), target_.c_str(), (unsigned long long)seed_,
                         (long long)i);
          std::fflush(stderr);
          std::abort();
        }
      }
    });
  }
  void start(int64_t index) {
    started_.store(Clock::now().time_since_epoch().count());
    index_.store(index);
  }
  void stop() { index_.store(kIdle); }

 private:
  static constexpr int64_t kIdle = -2;  // -1 is "a seed"
  std::string target_;
  uint64_t seed_;
  std::chrono::duration<double> limit_;
  std::atomic<int64_t> index_{kIdle};
  std::atomic<Clock::rep> started_{0};
  std::jthread thread_;  // last: stopped and joined before the members it reads go
};

struct Options {
  std::string target, seeds, write_mutant, make_seeds;
  int64_t mutants = 1000, only = -1;
  uint64_t seed = 1;
  double timeout = 20;
  bool verbose = false;
};

int run_target(const Options& opt) {
  const Target* target = nullptr;
  for (const Target& t : all_targets())
    if (t.name == opt.target) target = &t;
  if (!target) {
    std::vector<std::string> names;
    for (const Target& t : all_targets()) names.push_back(t.name);
    fmt::print(stderr, "seqnet_fuzz: unknown --target '{}' (known: {})\n", opt.target, fmt::join(names, ", "));
    return 2;
  }
  if (target->needs_wav_mat && !SEQNET_HAVE_WAV_MAT) {
    fmt::print("seqnet_fuzz: target {} needs WAV / .mat I/O; this build has none (-DSEQNET_WAV_MAT=OFF)\n",
               target->name);
    return 0;
  }
  const fs::path seed_dir = opt.seeds.empty() ? fs::path(SEQNET_FUZZ_SEEDS) / target->name : fs::path(opt.seeds);
  const std::vector<Seed> seeds = list_seeds(seed_dir);
  TempDir tmp;
  const fs::path work = tmp.path() / "m";
  Watchdog watchdog(target->name, opt.seed, opt.timeout);

  int failures = 0;
  // index -1: an unmutated seed.
  auto report = [&](int64_t index, const Mutant& m, const std::string& failure) {
    if (++failures > kMaxReported) return;
    fmt::print("FAIL {} {}: {}\n    input: {}\n", target->name,
               index < 0 ? std::string("seed") : fmt::format("mutant {}", index), failure, describe(m));
    if (index >= 0)
      fmt::print("    replay: seqnet_fuzz --target {} --seed {} --only {}\n", target->name, opt.seed, index);
    std::fflush(stdout);
  };

  // Replay one mutant.
  if (opt.only >= 0) {
    const Mutant m = make_mutant(seeds, target->format, opt.seed, uint64_t(opt.only));
    fmt::print("mutant {} of target {} (seed {}): {}\n", opt.only, target->name, opt.seed, describe(m));
    const std::string path = place(m, work);
    if (!opt.write_mutant.empty()) {
      if (m.seed->folder) fs::copy(work, opt.write_mutant, fs::copy_options::recursive);
      else write_bytes(opt.write_mutant, m.data);
      fmt::print("wrote {}\n", opt.write_mutant);
    }
    watchdog.start(opt.only);
    const Outcome o = run_one(*target, path);
    watchdog.stop();
    if (!o.failure.empty()) return report(opt.only, m, o.failure), 1;
    fmt::print("{}\n", o.accepted ? "accepted (sane)" : "refused: " + o.message);
    return 0;
  }

  // The seeds themselves must be accepted.
  const auto t0 = Clock::now();
  for (const Seed& s : seeds) {
    std::vector<std::string> files = s.folder ? s.files : std::vector<std::string>{""};
    Mutant m{&s, files[0], read_bytes(s.folder ? s.path / files[0] : s.path), {}};
    watchdog.start(-1);
    const Outcome o = run_one(*target, place(m, work));
    watchdog.stop();
    if (!o.failure.empty()) report(-1, m, o.failure);
    else if (!o.accepted) report(-1, m, "the unmutated seed is refused: " + o.message);
    else if (opt.verbose) fmt::print("seed {}: accepted\n", s.path.filename().string());
  }

  int64_t accepted = 0, refused = 0;
  double slowest = 0;
  int64_t slowest_index = -1;
  for (int64_t i = 0; i < opt.mutants; ++i) {
    const Mutant m = make_mutant(seeds, target->format, opt.seed, uint64_t(i));
    const std::string path = place(m, work);
    const auto start = Clock::now();
    watchdog.start(i);
    const Outcome o = run_one(*target, path);
    watchdog.stop();
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    if (s > slowest) slowest = s, slowest_index = i;
    accepted += o.accepted;
    refused += !o.accepted && o.failure.empty();
    if (!o.failure.empty()) report(i, m, o.failure);
    else if (opt.verbose) fmt::print("mutant {}: {}\n", i, o.accepted ? "accepted" : "refused: " + o.message);
  }
  const double total = std::chrono::duration<double>(Clock::now() - t0).count();
  fmt::print("seqnet_fuzz {}: {} seeds, {} mutants (seed {}): {} accepted, {} refused cleanly, {} failures; "
             "{:.1f} s (slowest mutant {} took {:.3f} s)\n",
             target->name, seeds.size(), opt.mutants, opt.seed, accepted, refused, failures,
             total, slowest_index, slowest);
  return failures == 0 ? 0 : 1;
}

// ---- seeds -----------------------------------------------------------------------------------------
// The seeds, written the way seqnet or the tools that made the real data write them; the build
// makes them (ctest's fuzz_seeds fixture) so that no binary file lives in the repository.

// checkpoint/: last.safetensors of one-epoch runs of the real trainer on the seeds written before
// it (text/ptb and, with WAV / .mat I/O, mat/plain.mat as JSB): tiny models, so the files are small.
void make_checkpoint_seeds(const fs::path& out) {
  const fs::path work = out / "checkpoint.work";
  fs::remove_all(work);
  fs::create_directories(work / "data" / "music");
  fs::create_directories(out / "checkpoint");
  fs::copy(out / "text" / "ptb", work / "data" / "ptb", fs::copy_options::recursive);
  TrainOptions quiet;
  quiet.verbosity = 0;
  quiet.final_eval = false;
  auto train = [&](TrainConfig c, const std::string& name) {
    c.epochs = 1;
    c.data_dir = (work / "data").string();
    c.out_dir = (work / name).string();
    run_training(c, quiet);
    // The same bytes on every run and machine (a mutant's index then names the same file): the
    // run's wall times and folders are replaced by fixed values; everything else is a function of
    // the seed (one thread: SEQNET_THREADS=1 in the fixture).
    SafetensorsFile f = load_safetensors((work / name / "last.safetensors").string());
    nlohmann::json state = nlohmann::json::parse(f.metadata.at("state"));
    for (auto& rec : state["history"])
      for (const char* key : {"seconds", "train_seconds", "peak_mb"})
        if (rec.contains(key)) rec[key] = 1.0;
    nlohmann::json config = nlohmann::json::parse(f.metadata.at("config"));
    config["out_dir"] = "runs/" + name;
    config["data_dir"] = "data";
    f.metadata["state"] = state.dump();
    f.metadata["config"] = config.dump();
    save_safetensors((out / "checkpoint" / (name + ".safetensors")).string(), f.tensors, f.metadata);
  };
  TrainConfig copy = TrainConfig::defaults("copy", "tcn");  // Adam: the optimiser state too
  copy.model_opts.nhid = 2, copy.model_opts.levels = 2, copy.model_opts.ksize = 2;
  copy.blank_len = 5, copy.n_train = 4, copy.n_valid = 2, copy.n_test = 2;
  train(copy, "copy_tcn");
  TrainConfig chr = TrainConfig::defaults("char", "tcn");
  chr.model_opts.nhid = 2, chr.model_opts.levels = 1, chr.model_opts.emsize = 2, chr.model_opts.ksize = 2;
  chr.seq_len = 8, chr.validseqlen = 4, chr.batch_size = 2, chr.optim = "sgd", chr.lr = 0.01;
  train(chr, "char_tcn");
#if SEQNET_HAVE_WAV_MAT
  fs::copy_file(out / "mat" / "plain.mat", work / "data" / "music" / "JSB_Chorales.mat");
  TrainConfig jsb = TrainConfig::defaults("jsb", "tcn");
  jsb.model_opts.nhid = 2, jsb.model_opts.levels = 1, jsb.model_opts.ksize = 2;
  jsb.optim = "sgd", jsb.lr = 0.01;
  train(jsb, "jsb_tcn");
#endif
  fs::remove_all(work);
}

void make_seeds(const fs::path& out) {
  fs::create_directories(out / "safetensors");
  save_safetensors((out / "safetensors" / "mixed.safetensors").string(),
                   {{"weight", Tensor::from_vector<float>({0.5f, -1.25f, 3.0f, 0.0f, 2.0f, -0.5f}, {2, 3})},
                    {"bias", Tensor::from_vector<double>({1.0, -2.0, 0.125, 4.0}, {4})},
                    {"index", Tensor::from_vector<int64_t>({0, 7, -3, 1}, {2, 2})},
                    {"empty", Tensor::empty({0, 3}, DType::F32)},
                    {"scalar", Tensor::from_vector<double>({3.5}, {})}},
                   {{"format", "fuzz-seed"}, {"note", "a few tensors of every dtype"}});

  fs::create_directories(out / "text" / "ptb");
  write_bytes(out / "text" / "ptb" / "train.txt",
              " the cat sat on the mat \n a dog ran N miles \n the dog sat \n prices rose 3.5 % in <unk> \n");
  write_bytes(out / "text" / "ptb" / "valid.txt", " the cat ran \n a mat sat on the dog \n");
  write_bytes(out / "text" / "ptb" / "test.txt", " a cat sat \n the N dogs ran \n");

#if SEQNET_HAVE_WAV_MAT
  fs::create_directories(out / "wav");
  std::vector<float> tone(200);
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = float(std::lround(8000 * std::sin(0.3 * double(i)))) / 32768.0f;
  write_wav_16k((out / "wav" / "pcm16.wav").string(), tone);
  {
    SF_INFO info{};
    info.samplerate = kAudioSampleRate, info.channels = 1, info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE* f = sf_open((out / "wav" / "float.wav").string().c_str(), SFM_WRITE, &info);
    check(f != nullptr, "make-seeds: cannot write float.wav: {}", sf_strerror(nullptr));
    sf_writef_float(f, tone.data(), 100);
    sf_close(f);
  }

  fs::create_directories(out / "mat");
  // traindata: two sequences (double, uint8), validdata and testdata one (uint8) each; 0/1 piano rolls of
  // 2–3 frames (the music task needs >= 2 to predict anything).
  auto write_mat = [](const fs::path& path, matio_compression compression) {
    mat_t* mat = Mat_CreateVer(path.string().c_str(), nullptr, MAT_FT_MAT5);
    check(mat != nullptr, "make-seeds: cannot create {}", path.string());
    auto roll = [](size_t rows, size_t salt) {
      std::vector<double> v(rows * size_t(kPianoKeys));
      for (size_t i = 0; i < v.size(); ++i) v[i] = (i * 7 + salt) % 11 == 0 ? 1.0 : 0.0;
      return v;
    };
    const struct {
      const char* name;
      std::vector<size_t> rows;
    } splits[] = {{"traindata", {2, 3}}, {"validdata", {2}}, {"testdata", {2}}};
    for (const auto& s : splits) {
      size_t cdims[2] = {1, s.rows.size()};
      matvar_t* cell = Mat_VarCreate(s.name, MAT_C_CELL, MAT_T_CELL, 2, cdims, nullptr, 0);
      for (size_t i = 0; i < s.rows.size(); ++i) {
        size_t dims[2] = {s.rows[i], size_t(kPianoKeys)};
        const std::vector<double> v = roll(s.rows[i], i + 3);
        matvar_t* m;
        if (i == 0 && std::string_view(s.name) == "traindata") {  // one double matrix, the rest uint8
          m = Mat_VarCreate(nullptr, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, const_cast<double*>(v.data()), 0);
        } else {
          std::vector<uint8_t> u(v.begin(), v.end());
          m = Mat_VarCreate(nullptr, MAT_C_UINT8, MAT_T_UINT8, 2, dims, u.data(), 0);
        }
        Mat_VarSetCell(cell, int(i), m);
      }
      Mat_VarWrite(mat, cell, compression);
      Mat_VarFree(cell);
    }
    Mat_Close(mat);
  };
  write_mat(out / "mat" / "plain.mat", MAT_COMPRESSION_NONE);
  write_mat(out / "mat" / "zlib.mat", MAT_COMPRESSION_ZLIB);
#endif
  make_checkpoint_seeds(out);
  fmt::print("wrote the seeds under {}\n", out.string());
}

}  // namespace
}  // namespace seqnet::fuzz

int main(int argc, char** argv) {
  using namespace seqnet::fuzz;
  Options opt;
  CLI::App app{"seqnet_fuzz: deterministic mutation fuzzing of seqnet's file readers (tests/fuzz/README.md)"};
  app.add_option("--target", opt.target, "safetensors, checkpoint, mat, wav or text");
  app.add_option("--seeds", opt.seeds,
                 "seed folder (default: BUILD/fuzz_seeds/<target>, which ctest's fuzz_seeds writes)");
  app.add_option("--mutants", opt.mutants, "number of mutants")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", opt.seed, "PRNG seed of the run");
  app.add_option("--only", opt.only, "replay this mutant alone, printing its mutations")->check(CLI::NonNegativeNumber);
  app.add_option("--write-mutant", opt.write_mutant, "with --only: write the mutant file (or folder) here");
  app.add_option("--timeout", opt.timeout, "seconds one mutant may take before the run aborts as hung");
  app.add_flag("--verbose", opt.verbose, "print every mutant's outcome");
  app.add_option("--make-seeds", opt.make_seeds, "write the seeds into this folder and exit");
  CLI11_PARSE(app, argc, argv);
  try {
    if (!opt.make_seeds.empty()) return make_seeds(opt.make_seeds), 0;
    if (opt.target.empty()) {
      std::fputs("seqnet_fuzz: give --target (or --make-seeds); --help lists the options\n", stderr);
      return 2;
    }
    if (!opt.write_mutant.empty() && opt.only < 0) {
      std::fputs("seqnet_fuzz: --write-mutant needs --only INDEX\n", stderr);
      return 2;
    }
    return run_target(opt);
  } catch (const std::exception& e) {  // the driver's own errors (a missing seed folder, ...)
    fmt::print(stderr, "seqnet_fuzz: {}\n", e.what());
    return 2;
  }
}
