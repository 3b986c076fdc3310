//===- NormalizationOps.cpp - BatchNormalization --------------------------===//

#include "OpHandlers.h"

#include <fmt/format.h>

namespace bregman::onnx::detail {

namespace {

/// The mean over every axis but the channels (axis 1). bregman::sum splits a
/// sum of N·H·W terms (32,768 at batch 128 and 16×16) into steps of fewer
/// than 1,024 (one chain would round to ~1e-4 of the statistic, where
/// PyTorch's stays near 1e-7: scripts/onnx/check-training.sh); shorter
/// ones are one reduction.
Tensor meanOverAllButChannels(const Tensor &x) {
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < x.rank(); ++a)
    if (a != 1)
      axes.push_back(a);
  return bregman::mean(x, axes, /*keepDims=*/true);
}

/// Training mode (retraining): batch statistics over every axis but the
/// channels; the running ones updated as r·momentum + batch·(1 − momentum),
/// the variance unbiased, as PyTorch.
Tensor batchNormTraining(const NodeContext &c, const Tensor &x, double eps) {
  if (x.rank() < 2)
    throw c.error(fmt::format("input {} has no channel axis", shapeString(x.shape())));
  Tensor mean = meanOverAllButChannels(x);
  Tensor centered = x - mean;
  Tensor var = meanOverAllButChannels(centered * centered);
  double momentum = c.finiteAttr("momentum", 0.9f);
  double count = static_cast<double>(x.numel() / std::max<int64_t>(x.dim(1), 1));
  Tensor batchMean = reshape(stopGradient(mean), {x.dim(1)});
  Tensor batchVar =
      reshape(stopGradient(var), {x.dim(1)}) * (count / std::max(count - 1, 1.0));
  c.trainingStatistics->add(c.node.input(3),
                            c.tensor(3) * momentum + batchMean * (1 - momentum));
  c.trainingStatistics->add(c.node.input(4),
                            c.tensor(4) * momentum + batchVar * (1 - momentum));
  return centered / sqrt(var + eps);
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
  Tensor y = c.trainingStatistics
                 ? batchNormTraining(c, x, eps)
                 : (x - c.perChannel(c.tensor(3), x)) /
                       sqrt(c.perChannel(c.tensor(4), x) + eps);
  c.set(y * c.perChannel(c.tensor(1), x) + c.perChannel(c.tensor(2), x));
}

} // namespace

// From opset 1: opset 1 adds a required `consumed_inputs` (a memory hint,
// not read); before 7 `is_test` selects inference, before 9 `spatial` the
// per-channel statistics; training_mode (14) is refused above.
std::vector<OpHandler> normalizationOps() {
  return {
      {"BatchNormalization", 1, kNewestOpset, batchNormalization,
       {{1, ParamRole::Scale},
        {2, ParamRole::Shift},
        {3, ParamRole::RunningMean},
        {4, ParamRole::RunningVar}}},
  };
}

} // namespace bregman::onnx::detail
