//===- NormalizationOps.cpp - BatchNormalization, InstanceNormalization ---===//

#include "OpHandlers.h"

#include <algorithm>

#include <fmt/format.h>

namespace bregman::onnx::detail {

namespace {

/// Training mode (retraining): batch statistics over every axis but the
/// channels; the running ones updated as r·momentum + batch·(1 − momentum),
/// the variance unbiased, as PyTorch.
Tensor batchNormTraining(const NodeContext &c, const Tensor &x, double eps) {
  if (x.rank() < 2)
    throw c.error(fmt::format("input {} has no channel axis", shapeString(x.shape())));
  // Checked here for the node's message (batchNorm checks them too).
  c.perChannel(c.tensor(1), x);
  c.perChannel(c.tensor(2), x);
  Moments batch;
  Tensor y = batchNorm(x, c.tensor(1), c.tensor(2), eps, &batch);
  double momentum = c.finiteAttr("momentum", 0.9f);
  // ONNX's momentum weighs the running value, PyTorch's the batch's.
  Moments running = updatedRunningMoments({c.tensor(3), c.tensor(4)}, batch, x,
                                          1 - momentum);
  c.trainingStatistics->add(c.node.input(3), running.mean);
  c.trainingStatistics->add(c.node.input(4), running.variance);
  return y;
}

/// Inference mode: the running statistics.
Tensor batchNormInference(const NodeContext &c, const Tensor &x, double eps) {
  Tensor y = (x - c.perChannel(c.tensor(3), x)) /
             sqrt(c.perChannel(c.tensor(4), x) + eps);
  return y * c.perChannel(c.tensor(1), x) + c.perChannel(c.tensor(2), x);
}

void batchNormalization(const NodeContext &c) {
  if (c.flagAttr("training_mode", 0) != 0 || c.node.output_size() > 1)
    throw c.unsupported("the training-mode outputs of BatchNormalization");
  // Opsets before 9 have `spatial`; 0 (statistics per element) is not what
  // this handler computes. Before 7 `is_test` defaults to training.
  if (c.intAttr("spatial", 1) == 0)
    throw c.unsupported(fmt::format("spatial = 0 (statistics per element) at opset {}, "
                                    "the model's; only per-channel statistics "
                                    "(spatial = 1) are imported",
                                    c.opset));
  if (c.opset < 7 && c.intAttr("is_test", 0) == 0)
    throw c.unsupported(fmt::format("is_test = 0 (training mode, the default before "
                                    "opset 7) at opset {}, the model's; only inference "
                                    "(is_test = 1) is imported",
                                    c.opset));
  Tensor x = c.tensor(0);
  double eps = c.finiteAttr("epsilon", 1e-5f);
  c.set(c.trainingStatistics ? batchNormTraining(c, x, eps)
                             : batchNormInference(c, x, eps));
}

/// Each sample's channel normalized over its spatial axes, then a scale and
/// a shift per channel (PyTorch's InstanceNorm2d with affine, and GroupNorm,
/// which its exporter writes as a Reshape to [N, groups, -1], an
/// InstanceNormalization with unit scale and zero shift, and a Reshape back
/// followed by the affine Mul and Add). No running statistics: the same in
/// training and inference.
void instanceNormalization(const NodeContext &c) {
  Tensor x = c.tensor(0);
  if (x.rank() < 3)
    throw c.error(fmt::format("input {} has no spatial axes (at least [N, C, "
                              "D] is needed)",
                              shapeString(x.shape())));
  double eps = c.finiteAttr("epsilon", 1e-5f);
  if (eps < 0)
    throw c.badAttr("epsilon", fmt::format("{}", eps), "must be >= 0");
  Tensor y = layerNorm(x, x.rank() - 2, Tensor(), Tensor(), eps);
  c.set(y * c.perChannel(c.tensor(1), x) + c.perChannel(c.tensor(2), x));
}

/// GroupNormalization-21: each sample's channels in `num_groups` groups of
/// neighbours, each group normalized over its channels and positions, then
/// a scale and a shift per channel; computed in float32 (stash_type 1, the
/// default). Version 18 (a scale and shift per group) is deprecated by ONNX,
/// whose checker refuses it: refused, with the re-export that works.
void groupNormalization(const NodeContext &c) {
  if (c.opset < 21)
    throw c.unsupported(fmt::format(
        "GroupNormalization-18, deprecated by ONNX (its scale and bias per "
        "group; the checker refuses it), at opset {}: export at opset 21 or "
        "later, or before 18 (PyTorch then writes InstanceNormalization)",
        c.opset));
  Tensor x = c.tensor(0);
  if (x.rank() < 2)
    throw c.error(
        fmt::format("input {} has no channels (at least [N, C] is needed)",
                    shapeString(x.shape())));
  if (std::none_of(c.node.attribute().begin(), c.node.attribute().end(),
                   [](const auto &a) { return a.name() == "num_groups"; }))
    throw c.error("attribute num_groups is required");
  int64_t groups = c.intAttr("num_groups", 0), channels = x.dim(1);
  if (groups < 1 || channels % groups != 0)
    throw c.badAttr(
        "num_groups", std::to_string(groups),
        fmt::format("must be >= 1 and divide the input's {} channels",
                    channels));
  double eps = c.finiteAttr("epsilon", 1e-5f);
  if (eps < 0)
    throw c.badAttr("epsilon", fmt::format("{}", eps), "must be >= 0");
  if (int64_t stash = c.intAttr("stash_type", 1);
      stash != ::onnx::TensorProto::FLOAT)
    throw c.unsupported(
        fmt::format("stash_type {} (statistics in float32 only)", stash));
  Tensor scale = c.tensor(1), shift = c.tensor(2);
  if (scale.shape() != Shape{channels} || shift.shape() != Shape{channels})
    throw c.error(fmt::format(
        "scale {} and bias {} must be [{}] (one per channel)",
        shapeString(scale.shape()), shapeString(shift.shape()), channels));
  int64_t rest = channels / groups;
  for (int64_t axis = 2; axis < x.rank(); ++axis)
    rest *= x.dim(axis);
  Tensor y = layerNorm(reshape(x, {x.dim(0), groups, rest}), 1, Tensor(),
                       Tensor(), eps);
  y = reshape(y, x.shape());
  c.set(y * c.perChannel(scale, x) + c.perChannel(shift, x));
}

} // namespace

// From opset 1: opset 1 adds a required `consumed_inputs` (a memory hint,
// not read); before 7 `is_test` selects inference, before 9 `spatial` the
// per-channel statistics; training_mode (14) is refused above.
std::vector<OpHandler> normalizationOps() {
  return {
      {"BatchNormalization",
       1,
       kNewestOpset,
       batchNormalization,
       {{1, ParamRole::Scale},
        {2, ParamRole::Shift},
        {3, ParamRole::RunningMean},
        {4, ParamRole::RunningVar}}},
      // Opset 1 only adds `consumed_inputs` (not read).
      {"InstanceNormalization",
       1,
       kNewestOpset,
       instanceNormalization,
       {{1, ParamRole::Scale}, {2, ParamRole::Shift}}},
      {"GroupNormalization",
       18,
       kNewestOpset,
       groupNormalization,
       {{1, ParamRole::Scale}, {2, ParamRole::Shift}}},
  };
}

} // namespace bregman::onnx::detail
