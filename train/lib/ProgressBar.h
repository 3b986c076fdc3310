//===- ProgressBar.h - A progress bar over an epoch's batches ---*- C++ -*-===//

#ifndef BREGMAN_TRAIN_LIB_PROGRESSBAR_H
#define BREGMAN_TRAIN_LIB_PROGRESSBAR_H

#include <cstdint>
#include <cstdio>
#include <fmt/format.h>
#include <string>
#include <unistd.h>

namespace bregman::train {

/// A one-line progress bar on stderr, drawn only on a terminal.
class ProgressBar {
public:
  ProgressBar(bool enabled, int epoch, int epochs, int64_t total)
      : enabled(enabled && isatty(STDERR_FILENO)), epoch(epoch),
        epochs(epochs), total(total) {}
  void update(int64_t done, double loss) {
    if (!enabled || (done % 8 != 0 && done != total))
      return;
    const int width = 30;
    int filled = total ? static_cast<int>(width * done / total) : width;
    fmt::print(stderr, "\r  epoch {}/{} [{}{}] {}/{} loss {:.4f} ", epoch,
               epochs, std::string(filled, '='),
               std::string(width - filled, ' '), done, total, loss);
    std::fflush(stderr);
  }
  /// Clears the bar so that the epoch's summary line takes its place.
  void finish() {
    if (enabled)
      fmt::print(stderr, "\r{}\r", std::string(80, ' '));
    enabled = false;
  }
  ~ProgressBar() { finish(); }

private:
  bool enabled;
  int epoch, epochs;
  int64_t total;
};

} // namespace bregman::train

#endif // BREGMAN_TRAIN_LIB_PROGRESSBAR_H
