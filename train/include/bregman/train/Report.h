//===- Report.h - The epoch report: terminal line and JSON lines -*- C++ -*-===//

#ifndef BREGMAN_TRAIN_REPORT_H
#define BREGMAN_TRAIN_REPORT_H

#include "bregman/metrics.h"
#include "bregman/train/Trainer.h"

#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace bregman::train {

/// What one epoch's report says besides its metrics.
struct EpochContext {
  const SparsityReport *sparsity = nullptr;
  std::string optimizer, regularizer;
  std::string phase; // "train", or "retrain" after pruning
  /// The weights group's hyper-parameters during the epoch, by name.
  std::vector<std::pair<std::string, double>> hypers;
};

/// The epoch's summary line for the terminal (without a newline).
std::string epochLine(const EpochMetrics &m, int totalEpochs);

/// A JSON-lines report, one object per epoch; flushed after each line.
class ReportWriter {
public:
  /// No file when `path` is empty. `append`: a resumed run continues its
  /// report. Throws an Error naming the file when it cannot be opened.
  ReportWriter(const std::string &path, bool append);
  void write(const EpochMetrics &m, const EpochContext &context);

private:
  std::ofstream out;
};

} // namespace bregman::train

#endif // BREGMAN_TRAIN_REPORT_H
