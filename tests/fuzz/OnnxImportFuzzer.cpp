//===- OnnxImportFuzzer.cpp - libFuzzer target for the ONNX importer ------===//
//
// Each input is written to a file and loaded as a model (protobuf parse,
// external-data checks, onnx::checker, shape inference, the importer's own
// support analysis); a model that imports is also replayed on traced inputs
// (no compilation), on its layers' CSRs too (withSparseLayers), and untied
// (OnnxModel::untied). Errors are fine; crashes, leaks and hangs are not.
//
//===----------------------------------------------------------------------===//

#include "FuzzInput.h"
#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"

#include <cstdint>
#include <string>

namespace {
/// Large shapes would only measure the allocator.
bool smallEnough(const bregman::onnx::OnnxModel &model) {
  for (const auto &v : model.inputs()) {
    int64_t n = 1;
    for (int64_t d : v.shape)
      if (d <= 0 || (n *= d) > (1 << 20))
        return false;
  }
  return true;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // (inputFile also sets the memory limit below libFuzzer's malloc limit.)
  std::string path = bregman::fuzz::inputFile("onnx", ".onnx", data, size);
  try {
    bregman::onnx::OnnxModel model = bregman::onnx::OnnxModel::load(path);
    (void)model.summary();
    if (!model.unsupported().empty() || !smallEnough(model))
      return 0;
    // Retraining's split of tied initializers (a graph edit and a reload).
    (void)model.untied().summary();
    bregman::Trace trace;
    bregman::TraceScope scope(trace);
    auto traced = [&](const bregman::Params &concrete, const std::string &prefix) {
      bregman::Params p;
      for (const auto &[name, t] : concrete)
        p.add(name, trace.addInput(t.shape(), t.dtype(), prefix + name));
      return p;
    };
    bregman::Params inputs;
    for (const auto &v : model.inputs())
      inputs.add(v.name, trace.addInput(v.shape, v.dtype, "in/" + v.name));
    (void)model.apply(traced(model.weights(), "w/"), traced(model.constants(), "c/"),
                      inputs);
    // Every layer that can on CSR (`run --sparse-exec on`): the CSRs built
    // from the weights or a sparse_initializer's indices, then the replay.
    bregman::Params sparse =
        bregman::onnx::withSparseLayers(model, bregman::nn::SparseExec::On);
    (void)model.apply(traced(sparse, "s/"), traced(model.constants(), "k/"), inputs);
  } catch (const bregman::Error &) {
    // The only error OnnxModel::load and apply document; any other
    // exception escapes and the fuzzer reports it as a crash.
  }
  return 0;
}
