//===- SaveInference.cpp - The trained model's inference as an artifact ---===//
//
// `bregman train --save-infer DIR`: the best model's forward pass in
// evaluation mode, compiled ahead of time with its weights, the CSR of the
// layers chosen sparse, its buffers and an example batch, and a manifest
// "inference" entry (runtime/Inference.h) naming the input "x" and the
// output "y"; `bregman-run DIR --input x.pb` runs it like an ONNX model's.
//
//===----------------------------------------------------------------------===//

#include "SaveInference.h"

#include "bregman/bregman.h"
#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/Inference.h"

#include <filesystem>
#include <fmt/format.h>

namespace bregman::train {

namespace {

/// The model's output for a batch "x", evaluation mode.
struct InferStep {
  const nn::Model *model;
  Params operator()(const Params &p, const Params &b, const Params &in) const {
    nn::Mode mode{/*training=*/false, &b, nullptr, {}};
    return Params{{"y", model->forward(p, in.at("x"), mode)}};
  }
};

const char *policyName(nn::SparseExec policy) {
  return policy == nn::SparseExec::On     ? "on"
         : policy == nn::SparseExec::Auto ? "auto"
                                          : "off";
}

runtime::InferenceBinding binding(const std::string &name, size_t index,
                                  const Tensor &t) {
  return {name, index, dtypeName(t.dtype()), t.shape()};
}

/// "fc1" of "fc1.weight".
std::string layerOf(const std::string &weight) {
  const std::string suffix = ".weight";
  bool suffixed =
      weight.size() > suffix.size() &&
      weight.compare(weight.size() - suffix.size(), suffix.size(), suffix) == 0;
  return suffixed ? weight.substr(0, weight.size() - suffix.size()) : weight;
}

/// What "x" holds: the images as `bregman train` feeds them.
std::string preprocessing(const TrainConfig &c, int64_t features) {
  if (c.dataset == "cifar10")
    return fmt::format(
        "cifar10 images, {} values each (channel, row, column), normalized "
        "per channel as bregman train loads them",
        features);
  return fmt::format(
      "{} images flattened to {} values, normalized as (pixel / 255 - {}) / {}",
      c.dataset, features, c.mean.value_or(0.0), c.std.value_or(1.0));
}

} // namespace

std::string saveInferenceProblem(const TrainConfig &c) {
  if (c.saveInferPath.empty())
    return "";
  if (!c.saveStepPath.empty())
    return "--save-infer saves the trained model's inference, --save-step does "
           "not "
           "train: choose one";
  if (c.task && *c.task != "classify")
    return "--save-infer saves a classifier's inference; not for --task " +
           *c.task;
  if (c.device == Device::HostMirror)
    return "--save-infer: host-mirror is a test device; save for cpu or cuda";
  std::error_code ec;
  if (std::filesystem::is_directory(c.saveInferPath, ec) &&
      !std::filesystem::is_empty(c.saveInferPath, ec))
    if (std::string why = runtime::artifactOwnership(c.saveInferPath);
        !why.empty())
      return fmt::format("--save-infer {}: {}; nothing was changed",
                         c.saveInferPath, why);
  return "";
}

std::string saveInference(const TrainConfig &c, const nn::Model &model,
                          const nn::SparseFilters &filters, const Params &params,
                          const Params &buffers, const Tensor &example) {
  std::vector<std::string> sparse;
  std::vector<nn::SparseLayerDecision> decisions;
  Params weights = nn::withCsrWeights(params, c.sparseExec, &sparse,
                                      example.dim(0), &decisions,
                                      nn::kSparseExecAutoDensity, &filters);
  Params feeds{{"x", example}};
  auto infer =
      jit(InferStep{&model}, JitOptions{{}, "infer", c.device, c.cudaChip});
  Params out =
      infer(weights, buffers, feeds); // the output's shape, and a check
  runtime::InferenceSpec spec{
      c.onnxPath.empty() ? c.model : c.onnxPath,
      policyName(c.sparseExec),
      preprocessing(c, example.dim(1)),
      {binding("x", weights.size() + buffers.size(), example)},
      {binding("y", 0, out.at("y"))},
      {}};
  for (const nn::SparseLayerDecision &d : decisions)
    if (d.sparse)
      spec.sparseLayers.push_back({layerOf(d.weight), d.weight, d.density});
  infer.setArtifactEntry("inference", runtime::inferenceEntryJson(spec));
  infer.save(c.saveInferPath, weights, buffers, feeds);
  return fmt::format(
      "saved the inference ({}, batch {}, {} layer(s) on their CSR) to {}\n",
      deviceName(c.device), example.dim(0), spec.sparseLayers.size(),
      c.saveInferPath);
}

} // namespace bregman::train
