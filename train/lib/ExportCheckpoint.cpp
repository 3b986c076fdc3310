//===- ExportCheckpoint.cpp - A checkpoint's model written as ONNX --------===//

#include "bregman/train/Export.h"

#include "Checkpointing.h"
#include "Export.h"
#include "bregman/Error.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/onnx/OnnxNetwork.h"
#include "bregman/runtime/SafeWrite.h"

#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <ostream>

namespace bregman::train {

namespace {

namespace fs = std::filesystem;

/// Refuses an output that is one of the inputs, or that may not be written
/// (its folder, or an existing file that is not one of our exports).
void checkOutput(const ExportConfig &c) {
  if (c.onnxPath.empty() || c.checkpointPath.empty() || c.outputPath.empty())
    throw Error("export: give the ONNX model, its checkpoint and the output "
                "file");
  for (const auto &[input, role] :
       {std::pair{c.onnxPath, "the ONNX model"},
        {c.checkpointPath, "the checkpoint"}}) {
    std::error_code ec;
    bool same = fs::equivalent(input, c.outputPath, ec) ||
                fs::absolute(input, ec) == fs::absolute(c.outputPath, ec);
    if (same)
      throw Error(fmt::format("--output {}: is also {} ({}); it would be "
                              "overwritten: choose another path",
                              c.outputPath, role, input));
  }
  try {
    runtime::requireWritableFile(c.outputPath, "--output",
                                 onnx::exportedModels());
  } catch (const runtime::WriteError &e) {
    throw Error(e.what());
  }
}

} // namespace

ExportResult exportCheckpoint(const ExportConfig &c, std::ostream &log) {
  checkOutput(c);
  auto onnxModel =
      std::make_shared<onnx::OnnxModel>(onnx::OnnxModel::load(c.onnxPath));
  onnx::OnnxNetwork network(onnxModel, c.onnxPath, /*fromPretrained=*/false,
                            onnx::RetrainOptions{c.trainOperands, c.freeze,
                                                 c.unfreeze});
  // The model's tensors, their values replaced by the checkpoint's.
  SavedModel saved;
  saved.params = network.init(/*seed=*/0, nn::SparseInit{});
  saved.buffers = network.initBuffers();
  readSavedModel(c.checkpointPath, c.last, saved);
  if (saved.model != network.describe())
    log << fmt::format("note: the checkpoint is of '{}', this model is '{}' "
                       "(their tensors agree in name and shape)\n",
                       saved.model, network.describe());
  TrainConfig target;
  target.exportPath = c.outputPath;
  target.exportSparse = c.sparseInitializers;
  ExportResult result{saved.epoch, saved.best,
                      exportModel(target, network, saved.params, saved.buffers)};
  std::string which =
      saved.best ? fmt::format("the best model (epoch {}: validation {:.2f} %, "
                               "test {:.2f} %, density {:.4f})",
                               saved.epoch, 100 * saved.valAcc,
                               100 * saved.testAcc, saved.density)
                 : fmt::format("the last epoch's model (epoch {})", saved.epoch);
  log << fmt::format("exported {} of {} to {}: {} bytes{}\n", which,
                     c.checkpointPath, c.outputPath, result.bytes,
                     c.sparseInitializers ? " with sparse initializers" : "");
  return result;
}

} // namespace bregman::train
