//===- Report.cpp - The per-epoch report: terminal line and JSON lines ----===//

#include "bregman/train/Report.h"

#include "bregman/Error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace bregman::train {

static std::string densities(const std::vector<double> &values) {
  std::vector<std::string> text;
  for (double d : values)
    text.push_back(fmt::format("{:.3f}", d));
  return fmt::format("{}", fmt::join(text, " "));
}

std::string epochLine(const EpochMetrics &m, int totalEpochs) {
  return fmt::format("epoch {:>3}/{}  train loss {:.4f} acc {:.2f}%  val "
                     "{:.2f}%  test {:.2f}%  density {:.4f}  {}nodes [{}]  "
                     "{:.1f}s",
                     m.epoch, totalEpochs, m.trainLoss, 100 * m.trainAcc,
                     100 * m.valAcc, 100 * m.testAcc, m.netDensity,
                     m.kernelDensity.empty()
                         ? ""
                         : "kernels [" + densities(m.kernelDensity) + "]  ",
                     densities(m.nodeDensity), m.seconds);
}

ReportWriter::ReportWriter(const std::string &path, bool append) {
  if (path.empty())
    return;
  out.open(path, std::ios::out | (append ? std::ios::app : std::ios::trunc));
  if (!out)
    throw Error(fmt::format("train: cannot write the report '{}'", path));
}

void ReportWriter::write(const EpochMetrics &m, const EpochContext &context) {
  if (!out.is_open())
    return;
  const SparsityReport &sparsity = *context.sparsity;
  nlohmann::json line = {{"epoch", m.epoch},
                         {"train_loss", m.trainLoss},
                         {"train_acc", m.trainAcc},
                         {"val_acc", m.valAcc},
                         {"test_acc", m.testAcc},
                         {"net_density", m.netDensity},
                         {"linear_density", sparsity.linearDensity},
                         {"node_density", m.nodeDensity},
                         {"seconds", m.seconds},
                         {"optimizer", context.optimizer},
                         {"phase", context.phase},
                         {"regularizer", context.regularizer}};
  if (!sparsity.kernelDensity.empty()) {
    line["conv_density"] = sparsity.convDensity;
    line["kernel_density"] = sparsity.kernelDensity;
  }
  for (const auto &[group, value] : sparsity.regularizerValue)
    line["reg_value"][group] = value;
  for (const auto &[name, value] : context.hypers)
    line[name] = value;
  out << line.dump() << "\n";
  out.flush();
}

} // namespace bregman::train
