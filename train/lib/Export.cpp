//===- Export.cpp - The trained model written back as ONNX ----------------===//

#include "Export.h"

#include "bregman/Error.h"
#include "bregman/onnx/OnnxNetwork.h"

namespace bregman::train {

int64_t exportModel(const TrainConfig &config, const nn::Model &model,
                    const Params &params, const Params &buffers) {
  auto *imported = dynamic_cast<const onnx::OnnxNetwork *>(&model);
  if (!imported)
    throw Error("train: --export writes ONNX models that were imported "
                "(retrain); this model was built in the DSL");
  // The weights and the running statistics of batch norm under their ONNX
  // names (of the untied graph: every role its own initializer).
  return imported->model().save(config.exportPath,
                                imported->onnxInitializers(params, buffers),
                                config.exportSparse);
}

} // namespace bregman::train
