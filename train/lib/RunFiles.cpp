//===- RunFiles.cpp - What a run reads and writes, checked first ----------===//

#include "RunFiles.h"

#include "bregman/Checkpoint.h"
#include "bregman/Error.h"
#include "bregman/data/Dataset.h"
#include "bregman/models/DenseNet.h"
#include "bregman/models/Zoo.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/runtime/SafeWrite.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace bregman::train {

namespace fs = std::filesystem;

namespace {

/// A file the run reads or writes, and its role ("the ONNX model",
/// "--checkpoint", ...).
struct RunFile {
  std::string path, role;
};

/// Whether `a` and `b` are one file: the same inode, or (for files not yet
/// there) the same absolute name.
bool sameFile(const std::string &a, const std::string &b) {
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  std::error_code ec;
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

/// The files the run reads: the ONNX model, the checkpoint to resume, the
/// data set's files.
std::vector<RunFile> inputFiles(const TrainConfig &c) {
  std::vector<RunFile> files{{c.onnxPath, "the ONNX model"},
                             {c.resumePath, "the --resume checkpoint"}};
  // The files the loader reads: a checkpoint kept beside them is no input.
  if (c.dataDir)
    for (const std::string &file : data::datasetFiles(*c.dataDir))
      files.push_back({file, "a data file"});
  return files;
}

/// The outputs, each with its option's name.
std::vector<RunFile> outputFiles(const TrainConfig &c) {
  // The lock beside the checkpoint too: an --export there was removed
  // with the lock when the run ended.
  std::string lock = c.checkpointPath.empty() ? "" : c.checkpointPath + ".lock";
  return {{c.reportPath, "--report"},        {c.checkpointPath, "--checkpoint"},
          {c.exportPath, "--export"},        {c.saveInferPath, "--save-infer"},
          {c.saveStepPath, "--save-step"},   {c.picturesDir, "--pictures"},
          {lock, "--checkpoint's lock file"}};
}

/// Whether `path` lies inside the folder `folder` (both as they will be
/// resolved; neither needs to exist yet).
bool isInside(const std::string &path, const std::string &folder) {
  std::error_code ec;
  fs::path file = fs::weakly_canonical(fs::absolute(path, ec), ec);
  fs::path dir = fs::weakly_canonical(fs::absolute(folder, ec), ec);
  for (fs::path p = file.parent_path(); !p.empty(); p = p.parent_path()) {
    if (p == dir)
      return true;
    if (p == p.root_path())
      break;
  }
  return false;
}

/// The folders a run writes (pictures, artifacts) hold no other output: the
/// report written as a picture's name was overwritten by the next picture,
/// and a report inside the --save-infer folder made the final save refuse
/// the folder after training.
void checkNothingInsideOutputFolders(const std::vector<RunFile> &outputs) {
  for (const RunFile &folder : outputs) {
    if (folder.path.empty() ||
        (folder.role != "--pictures" && folder.role != "--save-infer" &&
         folder.role != "--save-step"))
      continue;
    for (const RunFile &out : outputs)
      if (&out != &folder && !out.path.empty() &&
          isInside(out.path, folder.path))
        throw Error(fmt::format("{} {}: is inside the {} folder {}, which "
                                "this run writes: choose a path outside it",
                                out.role, out.path, folder.role, folder.path));
  }
}

void checkNoOverlap(const TrainConfig &c) {
  std::vector<RunFile> outputs = outputFiles(c), inputs = inputFiles(c);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const RunFile &out = outputs[i];
    if (out.path.empty())
      continue;
    for (const RunFile &in : inputs) {
      // Continuing a run writes its checkpoint where it was read from.
      bool resumedCheckpoint = out.role == "--checkpoint" &&
                               !c.resumePath.empty() &&
                               sameFile(in.path, c.resumePath);
      if (!in.path.empty() && !resumedCheckpoint && sameFile(out.path, in.path))
        throw Error(fmt::format("{} {}: is also {} of this run ({}); it would "
                                "be overwritten: choose another path",
                                out.role, out.path, in.role, in.path));
    }
    for (size_t j = i + 1; j < outputs.size(); ++j)
      if (!outputs[j].path.empty() && sameFile(out.path, outputs[j].path))
        throw Error(fmt::format("{} and {} name one file, {}: choose two",
                                out.role, outputs[j].role, out.path));
  }
  checkNothingInsideOutputFolders(outputs);
}

/// The folder --pictures writes into, and the pictures of this run's
/// epochs that are already in it: each must be one of ours. A missing
/// folder is made with the first picture (a run refused before it leaves
/// none), below the nearest folder that exists, which must be writable.
void checkPictures(const TrainConfig &c) {
  if (c.picturesDir.empty())
    return;
  if (!c.onnxPath.empty() || !models::zooEntry(c.model).picture)
    throw Error(fmt::format("--pictures {}: only the densenet model draws its "
                            "connection matrix; this run would draw nothing",
                            c.picturesDir));
  std::error_code ec;
  if (!fs::exists(c.picturesDir, ec)) {
    fs::path existing = fs::absolute(c.picturesDir, ec);
    while (!existing.empty() && !fs::exists(existing, ec))
      existing = existing.parent_path();
    if (!fs::is_directory(existing, ec) ||
        ::access(existing.c_str(), W_OK) != 0)
      throw Error(fmt::format("--pictures {}: its folder cannot be made in "
                              "{}",
                              c.picturesDir, existing.string()));
    return;
  }
  if (!fs::is_directory(c.picturesDir, ec))
    throw Error(fmt::format("--pictures {}: not a folder", c.picturesDir));
  for (int epoch = 1; epoch <= c.epochs + c.retrainEpochs; ++epoch)
    runtime::requireWritableFile(
        fmt::format("{}/connections-epoch-{:03}.png", c.picturesDir, epoch),
        "--pictures", models::connectionPictures());
}

} // namespace

void checkOutputFiles(const TrainConfig &c) {
  checkNoOverlap(c);
  try {
    if (!c.checkpointPath.empty())
      runtime::requireWritableFile(c.checkpointPath, "--checkpoint",
                                   checkpointFiles());
    if (!c.exportPath.empty())
      runtime::requireWritableFile(c.exportPath, "--export",
                                   onnx::exportedModels());
    checkPictures(c);
  } catch (const runtime::WriteError &e) {
    throw Error(e.what());
  }
}

namespace {

constexpr std::string_view kLockSignature = "bregman checkpoint lock\n";

/// Whether the open file `fd` begins with kLockSignature.
bool isOurLockFile(int fd) {
  char head[kLockSignature.size()];
  ssize_t n = ::pread(fd, head, sizeof(head), 0);
  return n == static_cast<ssize_t>(sizeof(head)) &&
         std::string_view(head, sizeof(head)) == kLockSignature;
}

} // namespace

CheckpointLock::CheckpointLock(const std::string &checkpointPath) {
  if (checkpointPath.empty())
    return;
  path = checkpointPath + ".lock";
  // Each retry waits 10 ms: one second in all.
  for (int attempt = 0; !tryLock(checkpointPath, attempt == 100); ++attempt)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

bool CheckpointLock::tryLock(const std::string &checkpointPath, bool last) {
  const int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW;
  fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL, 0666);
  bool created = fd >= 0;
  if (!created && errno == EEXIST)
    fd = ::open(path.c_str(), flags);
  if (fd < 0)
    throw Error(fmt::format("--checkpoint {}: cannot open its lock file {}: "
                            "{}",
                            checkpointPath, path, std::strerror(errno)));
  auto giveUp = [&](const std::string &why) {
    if (created)
      ::unlink(path.c_str());
    ::close(fd);
    fd = -1;
    if (why.empty())
      return false;
    throw Error(fmt::format("--checkpoint {}: {}", checkpointPath, why));
  };
  struct stat held;
  if (::fstat(fd, &held) != 0 || !S_ISREG(held.st_mode))
    return giveUp(fmt::format("{} is not a file", path));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    return giveUp(fmt::format("another run is writing this checkpoint (it "
                              "holds {}): give this run its own --checkpoint",
                              path));
  // Removed by a run that ended meanwhile: made anew on the next try.
  if (!runtime::namesOpenFile(path, fd))
    return giveUp("");
  if (created)
    return ::pwrite(fd, kLockSignature.data(), kLockSignature.size(), 0) ==
                   static_cast<ssize_t>(kLockSignature.size())
               ? true
               : giveUp(fmt::format("cannot write its lock file {}: {}", path,
                                    std::strerror(errno)));
  if (isOurLockFile(fd))
    return true;
  // Empty: perhaps made by a run this very moment, its signature not yet
  // written. Anything else is not ours, and kept.
  if (held.st_size == 0 && !last)
    return giveUp("");
  return giveUp(fmt::format("{} is not a lock file of bregman's: remove it, "
                            "or choose another --checkpoint",
                            path));
}

CheckpointLock::~CheckpointLock() {
  if (fd < 0)
    return;
  // Removed while still locked (a run waiting on this file finds it gone
  // and makes its own), and only while the name is still this file: one
  // removed by hand and made again by another run is that run's.
  if (runtime::namesOpenFile(path, fd))
    ::unlink(path.c_str());
  ::close(fd);
}

} // namespace bregman::train
