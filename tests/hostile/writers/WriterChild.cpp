//===- WriterChild.cpp - A writer for the kill loop to SIGKILL ------------===//
//
// writer_child MODE TARGET COUNT [MODEL]: writes TARGET COUNT times (0: until
// killed) with MODE's real writer: `checkpoint` (saveCheckpoint, 8 MB),
// `export` (OnnxModel::save of MODEL), `artifact` (Jitted::save). Write k
// stores the value base + k in every element, base from the pid, so a reader
// can tell a complete file (every element equal) from a mixed one.
//
//===----------------------------------------------------------------------===//

#include "bregman/Checkpoint.h"
#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

using namespace bregman;

namespace {

Tensor filled(int64_t n, float value) {
  return Tensor::fromVector(std::vector<float>(static_cast<size_t>(n), value),
                            {n});
}

void writeCheckpoint(const std::string &target, float value) {
  Params p;
  p.add("w", filled(2 << 20, value));
  Checkpoint c;
  c.sections.push_back({"params", p});
  saveCheckpoint(target, c);
}

void writeExport(const onnx::OnnxModel &model, const std::string &target,
                 float value) {
  Params changed;
  for (const auto &[name, t] : model.weights())
    changed.add(name, Tensor::fromVector(
                          std::vector<float>(static_cast<size_t>(t.numel()),
                                             value),
                          t.shape()));
  model.save(target, changed, /*sparse=*/false);
}

void writeArtifact(const std::string &target, float value) {
  auto step = jit([](const Tensor &w, const Tensor &x) { return w * x + w; },
                  JitOptions{{0}, "kill_step"});
  step.save(target, filled(1 << 16, value), filled(1 << 16, 1.0f));
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: writer_child MODE TARGET COUNT [MODEL]\n");
    return 2;
  }
  std::string mode = argv[1], target = argv[2];
  long count = std::atol(argv[3]);
  float base = static_cast<float>(::getpid() % 10000) * 1000.0f;
  try {
    std::unique_ptr<onnx::OnnxModel> model;
    if (mode == "export")
      model = std::make_unique<onnx::OnnxModel>(onnx::OnnxModel::load(argv[4]));
    for (long k = 0; count == 0 || k < count; ++k) {
      float value = base + static_cast<float>(k);
      if (mode == "checkpoint")
        writeCheckpoint(target, value);
      else if (mode == "export")
        writeExport(*model, target, value);
      else
        writeArtifact(target, value);
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
