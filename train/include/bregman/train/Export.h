//===- Export.h - A checkpoint's model written as ONNX ----------*- C++ -*-===//
//
// `bregman export`: the model a retraining run checkpointed, written back
// into its ONNX graph, without running the training again (a run with
// --checkpoint but no --export, or a run stopped early):
//
//   train::ExportConfig config;
//   config.onnxPath = "resnet.onnx";         // the model that was retrained
//   config.checkpointPath = "run.ckpt";      // its --checkpoint
//   config.outputPath = "resnet-sparse.onnx";
//   config.sparseInitializers = true;
//   train::exportCheckpoint(config, std::cout);
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TRAIN_EXPORT_H
#define BREGMAN_TRAIN_EXPORT_H

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace bregman::train {

struct ExportConfig {
  std::string onnxPath;       // the ONNX model the run retrained
  std::string checkpointPath; // the run's --checkpoint
  std::string outputPath;     // the ONNX file to write
  bool sparseInitializers = false; // weights as ONNX sparse_initializers
  /// The last epoch's weights instead of the best validation epoch's.
  bool last = false;
  /// As the run imported the model (--train-operands, --freeze,
  /// --unfreeze): they decide which initializers are its parameters.
  bool trainOperands = true;
  std::vector<std::string> freeze, unfreeze;
};

struct ExportResult {
  int epoch = 0;     // the epoch the weights are of
  bool best = true;  // the best validation epoch's (else the last one's)
  int64_t bytes = 0; // of the written file
};

/// Imports config.onnxPath as a retraining run does, reads the checkpoint's
/// best (or last) parameters and batch-norm statistics into it (names and
/// shapes must match) and writes the graph with them to config.outputPath
/// (a file this project exported, or a new one; never the model or the
/// checkpoint). Throws bregman::Error naming the file and what disagrees.
ExportResult exportCheckpoint(const ExportConfig &config, std::ostream &log);

} // namespace bregman::train

#endif // BREGMAN_TRAIN_EXPORT_H
