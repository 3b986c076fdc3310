//===- RunFiles.cpp - What a run reads and writes, checked first ----------===//

#include "RunFiles.h"

#include "bregman/Checkpoint.h"
#include "bregman/Error.h"
#include "bregman/data/Dataset.h"
#include "bregman/models/DenseNet.h"
#include "bregman/models/Zoo.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/runtime/SafeWrite.h"

#include <filesystem>
#include <fmt/format.h>
#include <string>
#include <sys/stat.h>
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
  return {{c.reportPath, "--report"},      {c.checkpointPath, "--checkpoint"},
          {c.exportPath, "--export"},      {c.saveInferPath, "--save-infer"},
          {c.saveStepPath, "--save-step"}, {c.picturesDir, "--pictures"}};
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

/// The folder --pictures writes into, made now if it is not there, and
/// the pictures of this run's epochs that are already in it: each must be
/// one of ours.
void checkPictures(const TrainConfig &c) {
  if (c.picturesDir.empty())
    return;
  if (!c.onnxPath.empty() || !models::zooEntry(c.model).picture)
    throw Error(fmt::format("--pictures {}: only the densenet model draws its "
                            "connection matrix; this run would draw nothing",
                            c.picturesDir));
  std::error_code ec;
  fs::create_directories(c.picturesDir, ec);
  if (!fs::is_directory(c.picturesDir))
    throw Error(fmt::format("--pictures {}: {}", c.picturesDir,
                            ec ? ec.message() : "not a folder"));
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

} // namespace bregman::train
