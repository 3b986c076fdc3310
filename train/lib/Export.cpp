//===- Export.cpp - The trained model written back as ONNX ----------------===//

#include "Export.h"

#include "bregman/Error.h"
#include "bregman/onnx/OnnxNetwork.h"

namespace bregman::train {

int64_t exportModel(const TrainConfig &config, const nn::Model &model,
                    const Params &params) {
  auto *imported = dynamic_cast<const onnx::OnnxNetwork *>(&model);
  if (!imported)
    throw Error("train: --export writes ONNX models that were imported "
                "(retrain); this model was built in the DSL");
  // The weights under their ONNX names; buffers unchanged.
  Params byOnnxName;
  for (const auto &[name, t] : params)
    byOnnxName.add(imported->onnxNames().at(name), t);
  return imported->model().save(config.exportPath, byOnnxName,
                                config.exportSparse);
}

} // namespace bregman::train
