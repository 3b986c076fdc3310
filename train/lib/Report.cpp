//===- Report.cpp - The per-epoch report: terminal line and JSON lines ----===//

#include "bregman/train/Report.h"

#include "bregman/Error.h"
#include "bregman/runtime/SafeWrite.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bregman::train {

static std::string densities(const std::vector<double> &values) {
  std::vector<std::string> text;
  for (double d : values)
    text.push_back(fmt::format("{:.3f}", d));
  return fmt::format("{}", fmt::join(text, " "));
}

/// "acc 91.20%  val 90.10%  test 89.90%", or the SSIMs of a restoration
/// task.
static std::string scores(const EpochMetrics &m) {
  if (m.ssim)
    return fmt::format("ssim {:.4f}  val {:.4f}  test {:.4f}", m.trainAcc,
                       m.valAcc, m.testAcc);
  return fmt::format("acc {:.2f}%  val {:.2f}%  test {:.2f}%", 100 * m.trainAcc,
                     100 * m.valAcc, 100 * m.testAcc);
}

/// "heads [enc0.attn 3/4 enc1.attn 4/4]  ", or nothing without attention.
static std::string activeHeads(const std::vector<LayerHeads> &heads) {
  if (heads.empty())
    return "";
  std::vector<std::string> text;
  for (const LayerHeads &h : heads)
    text.push_back(fmt::format("{} {}/{}", h.layer, h.active, h.total));
  return fmt::format("heads [{}]  ", fmt::join(text, " "));
}

std::string epochLine(const EpochMetrics &m, int totalEpochs) {
  return fmt::format("epoch {:>3}/{}  train loss {:.4f} {}  density {:.4f}  "
                     "{}{}nodes [{}]  {:.1f}s",
                     m.epoch, totalEpochs, m.trainLoss, scores(m), m.netDensity,
                     m.kernelDensity.empty()
                         ? ""
                         : "kernels [" + densities(m.kernelDensity) + "]  ",
                     activeHeads(m.heads), densities(m.nodeDensity), m.seconds);
}

/// Why the existing file `path` is not a report of this project's ("" when
/// it is one, empty, or not there): its first line must be a JSON object
/// with an "epoch".
static std::string foreignReport(const std::string &path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) ||
      std::filesystem::file_size(path, ec) == 0)
    return "";
  // The first line, read from at most 1 MiB: any file may be named here.
  std::ifstream in(path, std::ios::binary);
  std::string head(1 << 20, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  std::string first = head.substr(0, head.find('\n'));
  nlohmann::json line = nlohmann::json::parse(first, nullptr, false);
  if (line.is_object() && line.contains("epoch"))
    return "";
  return "exists and is not a report of bregman's (its first line is no JSON "
         "object with an \"epoch\"); it is not replaced: choose another path";
}

ReportWriter::ReportWriter(const std::string &given, bool append)
    : path(given), appending(append) {
  if (path.empty())
    return;
  // Fail before training if it cannot be written, without creating or
  // truncating it yet; an existing file must be a report (which a resumed
  // run continues, and a new run starts over).
  if (std::string problem = foreignReport(path); !problem.empty())
    throw Error(fmt::format("writing the report: {}: {}", path, problem));
  std::string parent = std::filesystem::path(path).parent_path().string();
  struct stat st;
  bool exists = ::stat(path.c_str(), &st) == 0;
  // A FIFO blocked the run in open() after its first epoch, forever.
  // (Devices such as /dev/null are taken.)
  if (exists &&
      (S_ISFIFO(st.st_mode) || S_ISDIR(st.st_mode) || S_ISSOCK(st.st_mode)))
    throw Error(fmt::format("writing the report: {}: is a {}, not a file: "
                            "choose a file's path",
                            path,
                            S_ISDIR(st.st_mode) ? "folder" : "FIFO or socket"));
  if (::access(exists ? path.c_str() : (parent.empty() ? "." : parent.c_str()),
               W_OK) != 0)
    throw Error(fmt::format("writing the report: {}: {}", path,
                            std::strerror(errno)));
  openLocked(/*atFirstLine=*/false);
}

void ReportWriter::openLocked(bool atFirstLine) {
  // Opened and locked when the run starts, truncated only at the first
  // line: two runs with one --report tore each other's lines, and when the
  // first wrote only after the second had finished, it replaced the
  // second's whole report. The second now stops at its start.
  const int flags = (appending ? O_RDWR | O_APPEND : O_WRONLY) | O_CLOEXEC;
  fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL, 0666);
  created = fd >= 0; // only a file made here is removed again
  if (!created && errno == EEXIST)
    fd = ::open(path.c_str(), flags | (atFirstLine ? O_CREAT : 0), 0666);
  // A link to a file not there yet: made at the first line, as before
  // (a run refused before it leaves nothing where the link points).
  if (fd < 0 && errno == ENOENT && !atFirstLine)
    return;
  if (fd < 0)
    throw Error(
        fmt::format("writing the report: {}: {}", path, std::strerror(errno)));
  struct stat st;
  // Devices (/dev/null) are shared: only files are locked.
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    fd = -1;
    throw Error(fmt::format("writing the report: {}: another process is "
                            "writing it (a second run with the same "
                            "--report?)",
                            path));
  }
}

ReportWriter::~ReportWriter() {
  if (fd < 0)
    return;
  // A run that ended before its first line leaves no report behind: the
  // file it made, while the name is still that file.
  if (created && !started && runtime::namesOpenFile(path, fd))
    ::unlink(path.c_str());
  ::close(fd);
}

void ReportWriter::append(const std::string &line) {
  if (fd < 0)
    openLocked(/*atFirstLine=*/true);
  if (!started) {
    struct stat st;
    if (!appending && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        ::ftruncate(fd, 0) != 0)
      throw Error(fmt::format("writing the report: {}: {}", path,
                              std::strerror(errno)));
    if (appending && keepThrough >= 0)
      dropLinesAfter(keepThrough);
    started = true;
  }
  const char *p = line.data();
  for (size_t left = line.size(); left > 0;) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw Error(fmt::format("writing the report: {}: {}", path,
                              std::strerror(n < 0 ? errno : ENOSPC)));
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void ReportWriter::dropLinesAfter(int epoch) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return;
  // A report holds a line per epoch: a few MiB at most. Larger, it is left
  // as it is rather than read whole.
  if (st.st_size > (64 << 20))
    return;
  std::string text(static_cast<size_t>(st.st_size), '\0');
  if (::pread(fd, text.data(), text.size(), 0) !=
      static_cast<ssize_t>(text.size()))
    return;
  size_t keep = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    nlohmann::json line =
        nlohmann::json::parse(text.substr(start, end - start), nullptr, false);
    auto at = line.is_object() ? line.find("epoch") : line.end();
    if (!line.is_object() || at == line.end() || !at->is_number_integer() ||
        at->get<int64_t>() > epoch)
      break;
    keep = start = end;
  }
  if (keep < text.size() && ::ftruncate(fd, static_cast<off_t>(keep)) != 0)
    throw Error(fmt::format("writing the report: {}: {}", path,
                            std::strerror(errno)));
}

void ReportWriter::write(const EpochMetrics &m, const EpochContext &context) {
  if (path.empty())
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
  if (context.phase == "thresholded")
    for (const char *key : {"train_loss", "train_acc", "seconds"})
      line.erase(key);
  if (m.ssim) // the *_acc fields hold mean SSIM (a restoration task)
    line["score"] = "ssim";
  if (!sparsity.kernelDensity.empty()) {
    line["conv_density"] = sparsity.convDensity;
    line["kernel_density"] = sparsity.kernelDensity;
  }
  for (const LayerHeads &h : sparsity.heads) // {"enc0.attn": [3, 4]}
    line["active_heads"][h.layer] = {h.active, h.total};
  for (const auto &[group, value] : sparsity.regularizerValue)
    line["reg_value"][group] = value;
  for (const auto &[name, value] : context.hypers)
    line[name] = value;
  if (context.sparseExec) {
    line["sparse_layers"] = m.sparseLayers;
    line["sparse_layers_training"] = m.sparseLayersTraining;
  }
  append(line.dump() + "\n");
}

} // namespace bregman::train
