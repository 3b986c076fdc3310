//===- WritersTest.cpp - Writers that destroy nothing they did not create -===//
//
// Every writer surface (checkpoint, ONNX export, TensorProto output, the
// artifact writers Jitted::save and Artifact::saveTo), table-driven against
// hostile targets: each case asserts the exact message and that nothing on
// disk changed that should not (types, contents, siblings). The kill loop
// SIGKILLs real writers (writer_child) at random moments: the target is then
// always the old or the new complete file, and the next write leaves no
// temporary behind.
//
//===----------------------------------------------------------------------===//

#include "bregman/Checkpoint.h"
#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/SafeWrite.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <spawn.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

using namespace bregman;
namespace fs = std::filesystem;

namespace {

/// A fresh directory, removed afterwards.
struct Scratch {
  fs::path dir;
  Scratch() {
    char name[] = "/tmp/bregman-hostile-writers-XXXXXX";
    dir = ::mkdtemp(name);
  }
  ~Scratch() { fs::remove_all(dir); }
  std::string operator/(const std::string &name) const {
    return (dir / name).string();
  }
};

/// The file type and content of `path` (directories: every entry), to
/// compare before and after.
std::string snapshot(const std::string &path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0)
    return "absent";
  std::ostringstream out;
  out << (st.st_mode & S_IFMT) << ":" << st.st_ino << ":";
  if (S_ISREG(st.st_mode))
    out << std::ifstream(path, std::ios::binary).rdbuf();
  if (S_ISDIR(st.st_mode)) {
    std::map<std::string, std::string> entries;
    for (const auto &e : fs::directory_iterator(path))
      entries[e.path().filename()] = snapshot(e.path());
    for (const auto &[name, s] : entries)
      out << "[" << name << "=" << s << "]";
  }
  return out.str();
}

std::vector<std::string> temporariesIn(const fs::path &dir) {
  std::vector<std::string> found;
  for (const auto &e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".bregman-tmp-") != std::string::npos)
      found.push_back(e.path().filename());
  return found;
}

std::string messageOf(const std::function<void()> &write) {
  try {
    write();
  } catch (const std::exception &e) {
    return e.what();
  }
  return "(no error)";
}

Tensor filled(int64_t n, float value) {
  return Tensor::fromVector(std::vector<float>(static_cast<size_t>(n), value),
                            {n});
}

const onnx::OnnxModel &mlpModel() {
  static onnx::OnnxModel model =
      onnx::OnnxModel::load(BREGMAN_MLP_ONNX);
  return model;
}

/// A file writer surface: what its messages say, and a write of `n` floats.
struct FileWriter {
  const char *name, *what;
  std::function<void(const std::string &, int64_t)> write;
};

const std::vector<FileWriter> &fileWriters() {
  static const std::vector<FileWriter> writers = {
      {"checkpoint", "writing the checkpoint",
       [](const std::string &path, int64_t n) {
         Params p;
         p.add("w", filled(n, 1.5f));
         saveCheckpoint(path, Checkpoint{"{}", {{"params", p}}});
       }},
      {"tensor", "writing the tensor",
       [](const std::string &path, int64_t n) {
         onnx::writeTensorProto(path, filled(n, 2.5f), "y");
       }},
      {"export", "writing the model",
       [](const std::string &path, int64_t) {
         mlpModel().save(path, mlpModel().weights(), /*sparse=*/false);
       }},
  };
  return writers;
}

} // namespace

// A target that exists and is not a regular file is refused, named, and left
// what it was; no temporary stays.
TEST(HostileWriters, NonRegularTargetsAreRefused) {
  for (const FileWriter &w : fileWriters()) {
    Scratch s;
    ::mkfifo((s / "fifo").c_str(), 0644);
    fs::create_directory(s / "dir");
    std::ofstream(s / "dir/user.txt") << "mine";
    std::ofstream(s / "real") << "pointed to";
    fs::create_symlink(s / "real", s / "link");
    const std::vector<std::pair<std::string, std::string>> targets = {
        {s / "fifo", "a FIFO"},
        {s / "dir", "a directory"},
        {s / "link", "a symbolic link"},
        {"/dev/null", "a character device"},
        {"/dev/full", "a character device"}};
    for (const auto &entry : targets) {
      const std::string &target = entry.first, &kind = entry.second;
      std::string before = snapshot(target), real = snapshot(s / "real");
      EXPECT_EQ(messageOf([&] { w.write(target, 16); }),
                std::string(w.what) + ": " + target + ": exists and is " +
                    kind + ", not a regular file; nothing was written")
          << w.name;
      EXPECT_EQ(snapshot(target), before) << w.name << " " << target;
      EXPECT_EQ(snapshot(s / "real"), real) << w.name;
    }
    EXPECT_EQ(temporariesIn(s.dir), std::vector<std::string>{}) << w.name;
  }
}

// A regular file the writer did not write is refused and kept byte for
// byte: the user's notes, a model of another writer's kind, an input tensor
// (they were replaced: an export or checkpoint onto the model being
// retrained, `run --output` onto its input). The writer's own earlier file
// is replaced.
TEST(HostileWriters, ForeignRegularFilesAreKeptOwnFilesReplaced) {
  for (const FileWriter &w : fileWriters()) {
    Scratch s;
    std::ofstream(s / "notes") << "mine";
    fs::copy_file(BREGMAN_MLP_ONNX, s / "model.onnx");
    onnx::writeTensorProto(s / "ours.pb", filled(4, 1.0f), "x");
    for (const char *foreign : {"notes", "model.onnx"}) {
      std::string before = snapshot(s / foreign);
      std::string message = messageOf([&] { w.write(s / foreign, 16); });
      EXPECT_EQ(message.rfind(std::string(w.what) + ": " + (s / foreign) +
                                  ": exists and is not ",
                              0),
                0u)
          << w.name << ": " << message;
      EXPECT_NE(message.find("it is not replaced"), std::string::npos)
          << message;
      EXPECT_EQ(snapshot(s / foreign), before) << w.name << " " << foreign;
    }
    // Its own file of an earlier write: replaced.
    w.write(s / "own", 16);
    std::string first = snapshot(s / "own");
    EXPECT_EQ(messageOf([&] { w.write(s / "own", 32); }), "(no error)")
        << w.name;
    EXPECT_NE(snapshot(s / "own"), first) << w.name;
    // A tensor file bregman wrote is not a checkpoint or a model.
    if (std::string(w.name) != "tensor")
      EXPECT_NE(messageOf([&] { w.write(s / "ours.pb", 16); }), "(no error)")
          << w.name;
    EXPECT_EQ(temporariesIn(s.dir), std::vector<std::string>{}) << w.name;
  }
}

// Two outputs named as one file (also through another spelling) are
// refused before anything is written: the second would replace the first.
TEST(HostileWriters, TwoOutputsOnOneFileAreRefused) {
  Scratch s;
  EXPECT_EQ(messageOf([&] {
              runtime::requireDistinctFiles(
                  {s / "a.pb", s / "b.pb", s / "./a.pb"}, "--output");
            }),
            "--output: " + (s / "./a.pb") + ": is also --output 1 (" +
                (s / "a.pb") + "): choose one file per output");
  EXPECT_EQ(
      messageOf([&] {
        runtime::requireDistinctFiles({s / "a.pb", s / "b.pb"}, "--output");
      }),
      "(no error)");
  EXPECT_TRUE(fs::is_empty(s.dir));
}

// Siblings a user (or an old version) left beside the target survive a
// successful write; stale temporaries of dead writers are removed, a live
// writer's are kept.
TEST(HostileWriters, SiblingsSurviveAndStaleTemporariesGo) {
  pid_t dead = 0;
  char *trueArgv[] = {const_cast<char *>("true"), nullptr};
  ASSERT_EQ(::posix_spawnp(&dead, "true", nullptr, nullptr, trueArgv, environ), 0);
  ::waitpid(dead, nullptr, 0);
  for (const FileWriter &w : fileWriters()) {
    Scratch s;
    std::string target = s / "out";
    for (const char *sibling : {"out.tmp", "out.tmp.1", "out.bregman-tmp-x"})
      std::ofstream(s / sibling) << "user's " << sibling;
    std::string stale = target + ".bregman-tmp-" + std::to_string(dead) + "-abcdef";
    std::string live = target + ".bregman-tmp-" + std::to_string(::getppid()) + "-abcdef";
    std::ofstream(stale) << "stale";
    std::ofstream(live) << "live";
    std::map<std::string, std::string> before;
    for (const char *sibling : {"out.tmp", "out.tmp.1", "out.bregman-tmp-x"})
      before[sibling] = snapshot(s / sibling);
    w.write(target, 1000);
    EXPECT_TRUE(fs::is_regular_file(target)) << w.name;
    for (const auto &[sibling, snap] : before)
      EXPECT_EQ(snapshot(s / sibling), snap) << w.name << " " << sibling;
    EXPECT_FALSE(fs::exists(stale)) << w.name;
    EXPECT_TRUE(fs::exists(live)) << w.name;
  }
}

// Write errors (here: the file size limit, EFBIG) reach the caller naming the
// file; the previous file is unchanged and the temporary removed.
TEST(HostileWriters, WriteErrorsAreReportedAndChangeNothing) {
  for (const FileWriter &w : fileWriters()) {
    Scratch s;
    std::string target = s / "out";
    w.write(target, 4);
    std::string before = snapshot(target);
    struct rlimit old, small{200000, 0};
    ::getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    auto previous = std::signal(SIGXFSZ, SIG_IGN);
    ::setrlimit(RLIMIT_FSIZE, &small);
    std::string message = messageOf([&] { w.write(target, 1 << 20); });
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, previous);
    EXPECT_EQ(message, std::string(w.what) + ": " + target +
                           ": File too large; the previous file, if any, is "
                           "unchanged")
        << w.name;
    EXPECT_EQ(snapshot(target), before) << w.name;
    EXPECT_EQ(temporariesIn(s.dir), std::vector<std::string>{}) << w.name;
  }
}

namespace {

auto killStep() {
  return jit([](const Tensor &w, const Tensor &x) { return w * x + w; },
             JitOptions{{0}, "kill_step"});
}

/// A directory writer surface: the message prefix and a save into `dir`.
struct DirWriter {
  const char *name, *what;
  std::function<void(const std::string &)> save;
};

std::vector<DirWriter> dirWriters(const std::string &source) {
  return {{"jitted-save", "kill_step: save",
           [](const std::string &dir) {
             killStep().save(dir, filled(64, 1.0f), filled(64, 2.0f));
           }},
          {"artifact-saveTo", "saving the artifact",
           [source](const std::string &dir) {
             runtime::Artifact::load(source)->saveTo(dir);
           }}};
}

} // namespace

// A directory is replaced only when it is exactly an artifact; DIR.tmp and
// other siblings survive; a hostile name reaches no shell.
TEST(HostileWriters, DirectoriesThatAreNotArtifactsSurvive) {
  Scratch s;
  std::string source = s / "source";
  killStep().save(source, filled(64, 1.0f), filled(64, 2.0f));
  const std::string notOurs =
      "exists and is not a bregman artifact (it holds 'notes.txt', which an "
      "artifact does not); choose another directory; nothing was changed";
  struct Case {
    const char *name;
    std::function<void(const std::string &)> make;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"manifest-and-user-file",
       [&](const std::string &d) {
         fs::copy(source, d);
         std::ofstream(d + "/notes.txt") << "mine";
       },
       notOurs},
      {"foreign-manifest",
       [](const std::string &d) {
         fs::create_directory(d);
         std::ofstream(d + "/manifest.json") << "{\"format\": \"theirs\"}";
       },
       "exists and is not a bregman artifact (no manifest.json with format "
       "bregman-step/1); choose another directory; nothing was changed"},
      {"symlinked-values",
       [&](const std::string &d) {
         fs::copy(source, d);
         fs::remove(d + "/values.bin");
         fs::create_symlink(source + "/values.bin", d + "/values.bin");
       },
       "exists and is not a bregman artifact ('values.bin' is not a regular "
       "file); choose another directory; nothing was changed"},
      {"regular-file",
       [](const std::string &d) { std::ofstream(d) << "mine"; },
       "exists and is a regular file, not a directory; nothing was written"},
  };
  for (const DirWriter &w : dirWriters(source))
    for (const Case &c : cases) {
      std::string dir = s / (std::string(w.name) + "-" + c.name);
      c.make(dir);
      std::string before = snapshot(dir), sourceBefore = snapshot(source);
      EXPECT_EQ(messageOf([&] { w.save(dir); }),
                std::string(w.what) + ": " + dir + ": " + c.reason)
          << w.name << " " << c.name;
      EXPECT_EQ(snapshot(dir), before) << w.name << " " << c.name;
      EXPECT_EQ(snapshot(source), sourceBefore) << w.name << " " << c.name;
    }
  EXPECT_EQ(temporariesIn(s.dir), std::vector<std::string>{});
}

TEST(HostileWriters, ArtifactsAreReplacedAndSiblingsSurvive) {
  Scratch s;
  std::string source = s / "source";
  killStep().save(source, filled(64, 1.0f), filled(64, 2.0f));
  for (const DirWriter &w : dirWriters(source)) {
    std::string dir = s / w.name;
    fs::create_directory(dir + ".tmp");
    std::ofstream(dir + ".tmp/user.txt") << "mine";
    std::string sibling = snapshot(dir + ".tmp");
    w.save(dir); // new
    w.save(dir); // replaces our own artifact
    EXPECT_EQ(snapshot(dir + ".tmp"), sibling) << w.name;
    EXPECT_EQ(runtime::Artifact::load(dir)->inputs.size(), 2u) << w.name;
    EXPECT_EQ(runtime::artifactOwnership(dir), "") << w.name;
  }
  EXPECT_EQ(temporariesIn(s.dir), std::vector<std::string>{});
}

TEST(HostileWriters, HostileNamesReachNoShell) {
  Scratch s;
  fs::path cwd = fs::current_path();
  fs::current_path(s.dir);
  for (std::string name : {"x$(touch pwned)", "x'; touch pwned; '",
                           "x`touch pwned`", "x\"; touch pwned; \""}) {
    killStep().save(name, filled(64, 1.0f), filled(64, 2.0f));
    EXPECT_TRUE(fs::exists(fs::path(name) / "step.so")) << name;
  }
  fs::current_path(cwd);
  EXPECT_FALSE(fs::exists(s / "pwned"));
  std::string output;
  EXPECT_EQ(runtime::runProgram({"false"}, output), 1);
  EXPECT_EQ(messageOf([&] {
              runtime::runProgram({"no-such-program-h13"}, output);
            }),
            "running: no-such-program-h13: No such file or directory");
}

//===----------------------------------------------------------------------===//
// The kill loop.
//===----------------------------------------------------------------------===//

namespace {

pid_t spawnChild(const std::vector<std::string> &args) {
  std::vector<char *> argv;
  for (const std::string &a : args)
    argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  int error = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(),
                            environ);
  posix_spawn_file_actions_destroy(&actions);
  return error == 0 ? pid : -1;
}

int waitChild(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Every element of `values` is the same: one complete write.
bool uniform(const float *values, size_t n) {
  for (size_t i = 1; i < n; ++i)
    if (values[i] != values[0])
      return false;
  return n > 0;
}

/// Loads `target` with its reader; throws if it is not complete.
void checkComplete(const std::string &mode, const std::string &target) {
  if (mode == "checkpoint") {
    std::vector<float> w =
        loadCheckpoint(target).section("params").at("w").toVector<float>();
    if (w.size() != (2u << 20) || !uniform(w.data(), w.size()))
      throw std::runtime_error("mixed checkpoint");
  } else if (mode == "export") {
    onnx::OnnxModel model = onnx::OnnxModel::load(target);
    std::vector<float> all;
    for (const auto &[name, t] : model.weights()) {
      std::vector<float> v = t.toVector<float>();
      all.insert(all.end(), v.begin(), v.end());
    }
    if (!uniform(all.data(), all.size()))
      throw std::runtime_error("mixed model");
  } else {
    auto a = runtime::Artifact::load(target);
    if (!uniform(static_cast<const float *>(a->input(0).data()), 1 << 16) ||
        !runtime::artifactOwnership(target).empty())
      throw std::runtime_error("mixed artifact");
  }
}

struct KillCase {
  const char *mode;
  int iterations, minMs, maxMs;
};

} // namespace

class KillLoop : public ::testing::TestWithParam<KillCase> {};

TEST_P(KillLoop, TargetIsOldOrNewAndNoTemporaryStays) {
  const KillCase &c = GetParam();
  Scratch s;
  std::string target = s / (std::string("target-") + c.mode);
  auto args = [&](const char *count) {
    return std::vector<std::string>{BREGMAN_WRITER_CHILD, c.mode, target, count,
                                    BREGMAN_MLP_ONNX};
  };
  ASSERT_EQ(waitChild(spawnChild(args("1"))), 0);
  std::mt19937 random(12345);
  std::uniform_int_distribution<int> delay(c.minMs, c.maxMs);
  int changed = 0, leftovers = 0;
  for (int k = 0; k < c.iterations; ++k) {
    std::string before = snapshot(target);
    pid_t pid = spawnChild(args("0"));
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay(random)));
    ::kill(pid, SIGKILL);
    waitChild(pid);
    changed += snapshot(target) != before;
    leftovers += !temporariesIn(s.dir).empty();
    EXPECT_NO_THROW(checkComplete(c.mode, target)) << "after kill " << k;
  }
  ASSERT_EQ(waitChild(spawnChild(args("1"))), 0);
  EXPECT_NO_THROW(checkComplete(c.mode, target));
  EXPECT_EQ(temporariesIn(s.dir), std::vector<std::string>{});
  std::printf("kill loop %s: %d kills, target replaced in %d, a temporary "
              "left behind after %d (all removed by the next write)\n",
              c.mode, c.iterations, changed, leftovers);
}

INSTANTIATE_TEST_SUITE_P(Writers, KillLoop,
                         ::testing::Values(KillCase{"checkpoint", 25, 30, 500},
                                           KillCase{"export", 25, 30, 500},
                                           KillCase{"artifact", 12, 100, 2000}),
                         [](const auto &info) {
                           return std::string(info.param.mode);
                         });
