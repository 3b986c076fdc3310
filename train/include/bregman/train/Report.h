//===- Report.h - The epoch report: terminal line and JSON lines -*- C++ -*-===//

#ifndef BREGMAN_TRAIN_REPORT_H
#define BREGMAN_TRAIN_REPORT_H

#include "bregman/metrics.h"
#include "bregman/train/Trainer.h"

#include <string>
#include <utility>
#include <vector>

namespace bregman::train {

/// What one epoch's report says besides its metrics.
struct EpochContext {
  const SparsityReport *sparsity = nullptr;
  std::string optimizer, regularizer;
  /// "train"; "retrain" after pruning; "thresholded": the last line of a
  /// run with --threshold, the best model with its small weights zeroed
  /// (not an epoch: no training figures).
  std::string phase;
  /// The weights group's hyper-parameters during the epoch, by name.
  std::vector<std::pair<std::string, double>> hypers;
  /// --sparse-exec is not off: the report lists EpochMetrics::sparseLayers
  /// ("sparse_layers": evaluation, empty when every layer ran dense) and
  /// sparseLayersTraining ("sparse_layers_training": the training step).
  bool sparseExec = false;
};

/// The epoch's summary line for the terminal (without a newline).
std::string epochLine(const EpochMetrics &m, int totalEpochs);

/// A JSON-lines report, one object per epoch, written through after each
/// line. The file is opened (and, unless appending, truncated) only at the
/// first line, after every input has been read.
class ReportWriter {
public:
  /// No file when `path` is empty. `append`: a resumed run continues its
  /// report. Throws an Error when `path` cannot be written, is an existing
  /// file that is no report, or another writer holds it: the file is opened
  /// and locked here (made when missing; removed again when no line was
  /// written), and truncated at the first line. (That it is none of the run's
  /// other files, the Trainer checks with all of them: RunFiles.cpp.)
  ReportWriter(const std::string &path, bool append);
  ~ReportWriter();
  ReportWriter(const ReportWriter &) = delete;
  ReportWriter &operator=(const ReportWriter &) = delete;
  void write(const EpochMetrics &m, const EpochContext &context);
  /// A resumed run continues after `epoch`: lines of later epochs (written
  /// by a run stopped between its report and its checkpoint) are dropped
  /// before the first new line, so that no epoch appears twice.
  void resumeAfter(int epoch) { keepThrough = epoch; }

private:
  /// Opens the file (made when missing, not truncated yet) and locks it;
  /// a link to a file not there yet is left for `atFirstLine`.
  void openLocked(bool atFirstLine);
  void append(const std::string &line);
  void dropLinesAfter(int epoch);
  std::string path;
  bool appending = false;
  bool created = false; // made by openLocked: removed when nothing was written
  bool started = false; // the first line written (and the file truncated)
  int keepThrough = -1; // resumeAfter's epoch, -1 when not resumed
  int fd = -1;
};

} // namespace bregman::train

#endif // BREGMAN_TRAIN_REPORT_H
