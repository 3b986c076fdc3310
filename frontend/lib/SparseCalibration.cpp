//===- SparseCalibration.cpp - Where a CSR layer starts to pay, measured ---===//
//
// `--sparse-exec auto` runs a linear layer on its CSR when its density is
// below the crossover of its shape and batch on this machine. The crossover
// is measured once (the dense GEMM against the CSR form csrProduct runs at
// that batch, at two densities; the CSR's time is close to linear in its stored entries, so a
// line through the two points gives the density where it meets the GEMM)
// and kept for the process and in a small JSON cache file, so that later
// runs do not measure again.
//
//===----------------------------------------------------------------------===//

#include "bregman/Error.h"
#include "bregman/Grad.h"
#include "bregman/Jit.h"
#include "bregman/Tensor.h"
#include "bregman/nn.h"
#include "bregman/runtime/CpuGemm.h"
#include "bregman/runtime/InputFile.h"
#include "bregman/runtime/SafeWrite.h"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>

namespace bregman::nn {
namespace {

constexpr int kCacheVersion = 1;
// The two densities the line goes through: both inside the range where a
// crossover is plausible for the shapes measured (docs/PERFORMANCE.md).
constexpr double kLowDensity = 0.02, kHighDensity = 0.2;
// No layer is sent to the CSR above this density, whatever the line says.
constexpr double kMaxCrossover = 0.9;

/// The CPU's model name, read once (every evaluation asks for every layer's key).
const std::string &cpuModel() {
  static const std::string model = [] {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("model name", 0) == 0) {
        auto colon = line.find(':');
        return colon == std::string::npos ? line : line.substr(colon + 2);
      }
    return std::string("unknown cpu");
  }();
  return model;
}

std::string threadsSetting() {
  const char *omp = std::getenv("OMP_NUM_THREADS");
  return omp ? std::string(omp)
             : std::to_string(std::thread::hardware_concurrency());
}

/// Seconds per call of each of `fns` (the dense form, then the CSR at each
/// density measured): the least over 9 rounds, each round timing
/// every form in turn with calls adding up to about 4 ms (after one warm-up
/// call each). Interleaved, so that a change in the machine's load between
/// rounds touches all forms alike; the least is the figure least disturbed
/// by other work.
template <size_t N>
std::array<double, N> leastSecondsPerCall(const std::array<std::function<void()>, N> &fns) {
  using Clock = std::chrono::steady_clock;
  std::array<double, N> best{};
  std::array<int, N> calls{};
  for (size_t f = 0; f < fns.size(); ++f) {
    fns[f]();
    auto t0 = Clock::now();
    fns[f]();
    best[f] = std::chrono::duration<double>(Clock::now() - t0).count();
    calls[f] = static_cast<int>(std::clamp(4e-3 / std::max(best[f], 1e-7), 1.0, 2000.0));
  }
  for (int round = 0; round < 9; ++round)
    for (size_t f = 0; f < fns.size(); ++f) {
      auto start = Clock::now();
      for (int i = 0; i < calls[f]; ++i)
        fns[f]();
      best[f] = std::min(
          best[f], std::chrono::duration<double>(Clock::now() - start).count() / calls[f]);
    }
  return best;
}

/// The density at which the CSR form's time, a line through its times
/// (`low` at `lowDensity`, `high` at `highDensity`), reaches `dense`'s.
double crossingDensity(double dense, double low, double high, double lowDensity,
                       double highDensity, double most) {
  double slope = (high - low) / (highDensity - lowDensity);
  if (!(slope > 0)) // timing noise: trust the two points only
    return high < dense ? highDensity : low < dense ? lowDensity : 0.0;
  return std::clamp(lowDensity + (dense - low) / slope, 0.0, most);
}

} // namespace

double piecewiseCrossing(double dense, const std::vector<double> &csr,
                         const std::vector<double> &densities, double most) {
  if (csr.empty() || csr.size() != densities.size())
    throw Error(fmt::format("piecewiseCrossing: {} times for {} densities", csr.size(),
                            densities.size()));
  std::vector<size_t> points{0};
  for (size_t i = 1; i < csr.size(); ++i)
    if (densities[i] > densities[points.back()])
      points.push_back(i);
  if (points.size() == 1)
    return csr[0] < dense ? most : 0.0;
  for (size_t k = 1; k < points.size(); ++k) {
    size_t a = points[k - 1], b = points[k];
    if (csr[b] >= dense || k + 1 == points.size())
      return crossingDensity(dense, csr[a], csr[b], densities[a], densities[b], most);
  }
  return most;
}

namespace {

Tensor randomMatrix(std::mt19937 &rng, int64_t rows, int64_t cols, double density) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(rows * cols), 0.0f);
  for (float &x : v)
    if (u(rng) < density)
      x = u(rng) - 0.5f;
  return Tensor::fromVector(v, {rows, cols});
}

/// The density at which the CSR form's time (a line through its times at
/// the two densities) reaches the dense GEMM's, for x·Wᵀ (transposeW) or x·W
/// with W [rows, cols].
double measureCrossover(int64_t rows, int64_t cols, int64_t batch, bool transposeW) {
  std::mt19937 rng(7);
  int64_t inner = transposeW ? cols : rows;
  Tensor x = randomMatrix(rng, batch, inner, 1.0);
  Tensor xt = randomMatrix(rng, inner, batch, 1.0);
  auto dense = jit([transposeW](const Tensor &a, const Tensor &w) {
    return matmul(a, w, false, transposeW);
  }, JitOptions{{}, "calibrate_dense"});
  // The form csrProduct takes at this batch (the feature-major one on
  // transposed input, as measured before csrProduct chose).
  bool batchMajor = csrProductIsBatchMajor(batch, transposeW);
  auto sparse = jit([rows, cols, batchMajor, transposeW](
                        const Tensor &a, const Tensor &p, const Tensor &c,
                        const Tensor &v) {
    CsrWeight w{p, c, v, Tensor(), rows, cols};
    return batchMajor ? sparseMatmul(a, w, transposeW)
                      : sparseMatmulLeft(w, a, !transposeW);
  }, JitOptions{{}, "calibrate_csr"});
  const Tensor &sparseInput = batchMajor ? x : xt;
  auto csrAt = [&](double density) {
    return compressRows(randomMatrix(rng, rows, cols, density), rows * cols);
  };
  CsrWeight low = csrAt(kLowDensity), high = csrAt(kHighDensity);
  Tensor w = randomMatrix(rng, rows, cols, 1.0);
  auto t = leastSecondsPerCall<3>(
      {[&] { dense(x, w); },
       [&] { sparse(sparseInput, low.positions, low.coordinates, low.values); },
       [&] { sparse(sparseInput, high.positions, high.coordinates, high.values); }});
  return crossingDensity(t[0], t[1], t[2], kLowDensity, kHighDensity, kMaxCrossover);
}

// A convolution's calibration: samples of 16·stride per side with the
// layer's own strides, padding and dilation, enough for oneDNN's and the
// CSR loops' per-output costs, which set the crossover; as many (16 to 1024)
// as make the dense forward pass about 50 M multiply-adds, so that a narrow
// filter's calls are not all overhead and thread wake-up; kernel-level
// densities as kernel groups leave them. The CSR is timed at 5 %, 30 % and
// 100 % of the kernels, a line through each pair: a convolution's crossover
// is often far above 30 %, on narrow filters the CSR's times at nearby
// densities are within the timing noise of each other, and its time grows
// faster than the density (one line through 5 % and 100 % put conv2's
// forward crossing at 0.39 where it is 0.29: docs/PERFORMANCE.md).
constexpr int64_t kConvSize = 16;
constexpr std::array<double, 3> kConvDensities{0.05, 0.3, 1.0};

/// What a convolution's calibration runs: `batch` samples [C, height,
/// width] through the layer's geometry to [O, outHeight, outWidth].
struct ConvCalibrationShape {
  int64_t height = 0, width = 0, outHeight = 0, outWidth = 0, batch = 16;
  double workPerSample = 0; // multiply-adds of the dense forward pass
  bool measurable = false;  // within what a calibration can afford
};

/// Whether a calibration can take this filter and geometry at all (bounded
/// before any product is formed: an ONNX file's attributes).
bool calibratable(const std::array<int64_t, 4> &f, const Conv2dOptions &o) {
  auto within = [](int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; };
  return std::all_of(f.begin(), f.end(), [&](int64_t d) { return within(d, 1, 4096); }) &&
         within(f[2], 1, kConvSize) && within(f[3], 1, kConvSize) &&
         within(o.stride[0], 1, 8) && within(o.stride[1], 1, 8) &&
         within(o.dilation[0], 1, kConvSize) && within(o.dilation[1], 1, kConvSize) &&
         std::all_of(o.padding.begin(), o.padding.end(),
                     [&](int64_t p) { return within(p, 0, kConvSize * 8); }) &&
         within(o.groups, 1, f[0]) && f[0] % o.groups == 0 &&
         within(f[1] * o.groups, 1, 4096);
}

/// Samples of height × width through the layer: as many as make about 50 M
/// multiply-adds (at least `minBatch`, at most 1024, and no more than keep
/// the input and the output within 64 M floats each); measurable when one
/// call stays within about 4 G multiply-adds and `minBatch` samples fit.
ConvCalibrationShape shapeOn(const std::array<int64_t, 4> &f, const Conv2dOptions &o,
                             int64_t height, int64_t width, int64_t minBatch) {
  constexpr double kMaxFloats = 64e6;
  ConvCalibrationShape c;
  c.height = height, c.width = width;
  int64_t spanH = c.height + o.padding[0] + o.padding[2] - o.dilation[0] * (f[2] - 1);
  int64_t spanW = c.width + o.padding[1] + o.padding[3] - o.dilation[1] * (f[3] - 1);
  if (spanH < 1 || spanW < 1)
    return c; // a window wider than the samples
  c.outHeight = (spanH - 1) / o.stride[0] + 1;
  c.outWidth = (spanW - 1) / o.stride[1] + 1;
  // Each output channel reads the f[1] channels of its group.
  c.workPerSample = static_cast<double>(f[0]) * f[1] * f[2] * f[3] * c.outHeight *
                    c.outWidth;
  double floatsPerSample =
      std::max(static_cast<double>(f[1]) * o.groups * c.height * c.width,
               static_cast<double>(f[0]) * c.outHeight * c.outWidth);
  double fits = std::floor(kMaxFloats / floatsPerSample);
  c.batch = static_cast<int64_t>(std::min(
      {std::max(std::floor(50e6 / c.workPerSample), static_cast<double>(minBatch)),
       1024.0, fits}));
  c.measurable = c.batch >= minBatch &&
                 static_cast<double>(c.batch) * c.workPerSample <= 4e9;
  return c;
}

/// The layer's own input size where it is known and a sample of it within
/// a call's bound, else 16 to 1024 samples of 16·stride × 16·stride (about
/// 4 G multiply-adds per dense call at 16 samples: seconds).
ConvCalibrationShape convCalibrationShape(const std::array<int64_t, 4> &f,
                                          const Conv2dOptions &o,
                                          std::array<int64_t, 2> inputSize) {
  if (!calibratable(f, o))
    return {};
  if (inputSize[0] >= 1 && inputSize[0] <= 4096 && inputSize[1] >= 1 &&
      inputSize[1] <= 4096)
    if (ConvCalibrationShape c = shapeOn(f, o, inputSize[0], inputSize[1], 1);
        c.measurable)
      return c;
  return shapeOn(f, o, kConvSize * o.stride[0], kConvSize * o.stride[1], 16);
}

/// Values uniform in [-0.5, 0.5) in a tensor of `shape` (one copy: a
/// calibration's input can be 64 M floats).
Tensor uniformTensor(std::mt19937 &rng, const Shape &shape) {
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  for (float &e : v)
    e = u(rng);
  return Tensor::fromVector(v, shape);
}

/// A filter with round(density·kernels) of its kernels alive (at least
/// one), their taps in ±0.5; `alive` receives the fraction that is.
Tensor kernelSparseFilter(std::mt19937 &rng, const std::array<int64_t, 4> &f,
                          double density, double *alive = nullptr) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  int64_t taps = f[2] * f[3], kernels = f[0] * f[1];
  int64_t count = std::clamp<int64_t>(std::llround(density * kernels), 1, kernels);
  std::vector<int64_t> order(kernels);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<float> w(static_cast<size_t>(kernels * taps), 0.0f);
  for (int64_t i = 0; i < count; ++i)
    for (int64_t t = 0; t < taps; ++t)
      w[order[i] * taps + t] = u(rng) - 0.5f;
  if (alive)
    *alive = static_cast<double>(count) / static_cast<double>(kernels);
  return Tensor::fromVector(w, {f[0], f[1], f[2], f[3]});
}

/// One convolution's timed function: conv(x) alone, or with the input
/// gradient of Σ d ⊙ conv(x) (a training step's use of the filter).
template <typename Conv> auto convCall(Conv conv, bool withInputGradient) {
  return [conv, withInputGradient](const Tensor &x, const Tensor &d,
                                   const Params &w) {
    if (!withInputGradient)
      return Params{{"y", conv(x, w)}};
    return grad([&](const Params &p) { return sum(conv(p.at("x"), w) * d); })(
        Params{{"x", x}});
  };
}

/// The kernel density at which the CSR convolution's time (a line through
/// its times at two densities) reaches oneDNN's dense one.
double measureConvCrossover(const std::array<int64_t, 4> &f, const Conv2dOptions &options,
                            bool withInputGradient, const ConvCalibrationShape &shape) {
  std::mt19937 rng(7);
  int64_t batch = shape.batch, channels = f[1] * options.groups;
  Tensor x = uniformTensor(rng, {batch, channels, shape.height, shape.width});
  Tensor d = uniformTensor(rng, {batch, f[0], shape.outHeight, shape.outWidth});
  auto dense = jit(convCall([options](const Tensor &in, const Params &w) {
                              return conv2d(in, w.at("w"), options);
                            }, withInputGradient),
                   JitOptions{{}, "calibrate_conv_dense"});
  auto sparse = jit(convCall([options](const Tensor &in, const Params &w) {
                               const Tensor &dense = w.at("w.weight");
                               return sparseConv2d(in, *filterCsr(w, "w.weight", dense),
                                                   options);
                             }, withInputGradient),
                    JitOptions{{}, "calibrate_conv_csr"});
  const SparseFilters filters{{"w.weight", SparseFilter{options}}};
  auto filterAt = [&](double density, double &alive) {
    // The CSR pair at full capacity, as the Trainer's: one compiled shape.
    Params w{{"w.weight", kernelSparseFilter(rng, f, density, &alive)}};
    for (const auto &[key, t] :
         csrWeights(w, SparseExec::On, nullptr, 0, nullptr, 0, &filters))
      w.add(key, t);
    return w;
  };
  std::vector<double> alive(kConvDensities.size());
  std::vector<Params> filtersAt;
  for (size_t i = 0; i < kConvDensities.size(); ++i)
    filtersAt.push_back(filterAt(kConvDensities[i], alive[i]));
  Params full{{"w", kernelSparseFilter(rng, f, 1.0)}};
  // The median of three measurements: on this two-core host a calibration
  // now and then lands in a few hundred milliseconds where the CSR loops'
  // threads run slow, and its crossover alone reads 0 for a filter whose
  // CSR is several times faster (docs/PERFORMANCE.md).
  std::array<double, 3> crossovers{};
  for (double &crossover : crossovers) {
    auto t = leastSecondsPerCall<4>({[&] { dense(x, d, full); },
                                     [&] { sparse(x, d, filtersAt[0]); },
                                     [&] { sparse(x, d, filtersAt[1]); },
                                     [&] { sparse(x, d, filtersAt[2]); }});
    crossover = piecewiseCrossing(t[0], {t[1], t[2], t[3]}, alive, 1.0);
  }
  std::sort(crossovers.begin(), crossovers.end());
  return crossovers[1];
}

/// The process's crossovers, and the cache file's as read at first use.
struct Calibration {
  std::mutex mutex;
  std::map<std::string, double> known;
  std::string loadedPath; // the cache file `known` belongs to
  bool loaded = false, fileUsable = true;
};

Calibration &calibration() {
  static Calibration c;
  return c;
}

void warn(const std::string &message) {
  std::cerr << "warning: sparse-exec calibration: " << message << "\n";
}

/// The cache file's entries; nullopt when there is none yet. Throws Error
/// for anything this process must neither use nor replace: not a regular
/// file (a FIFO blocked the run forever), unreadable (it was replaced), too
/// large, or not a cache.
std::optional<std::map<std::string, double>>
readCacheFile(const std::string &path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT)
    return std::nullopt; // not measured on this machine yet
  if (std::string problem =
          runtime::regularFileProblem(path, "sparse-exec calibration cache");
      !problem.empty())
    throw Error(problem);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(fmt::format("{}: cannot read it: {}", path,
                            std::strerror(errno)));
  constexpr std::streamsize kMostBytes = 16 << 20; // a few thousand entries
  std::string text(kMostBytes + 1, '\0');
  in.read(text.data(), kMostBytes + 1);
  if (in.gcount() > kMostBytes)
    throw Error(fmt::format("{}: larger than 16 MiB: not a cache this "
                            "bregman wrote",
                            path));
  text.resize(static_cast<size_t>(in.gcount()));
  return parseSparseCalibrationCache(text, path);
}

void loadCache(Calibration &c, const std::string &path) {
  c.known.clear();
  c.fileUsable = true;
  c.loaded = true;
  c.loadedPath = path;
  try {
    if (auto entries = readCacheFile(path))
      c.known = std::move(*entries);
  } catch (const Error &e) {
    // Someone else's file, or a damaged one: measure, but leave it alone.
    c.fileUsable = false;
    warn(fmt::format("{} (not used, not replaced)", e.what()));
  }
}

/// Creates the missing folders of the cache's path (~/.cache may not exist
/// yet); nothing that exists is touched. False (with a warning) on failure.
bool createCacheFolders(const std::string &path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      warn(fmt::format("cannot create {}: {} (measured again next time)", dir,
                       std::strerror(errno)));
      return false;
    }
  }
  return true;
}

/// An advisory lock on the cache's folder while the file is read and
/// replaced: runs calibrating at once each kept only their own entries
/// (the last writer won). Without it (an unreadable folder), last wins.
class CacheFolderLock {
public:
  explicit CacheFolderLock(const std::string &path) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    fd = ::open(dir.empty() ? "." : dir.c_str(),
                O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
      while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
      }
  }
  ~CacheFolderLock() {
    if (fd >= 0)
      ::close(fd); // releases the lock
  }
  CacheFolderLock(const CacheFolderLock &) = delete;
  CacheFolderLock &operator=(const CacheFolderLock &) = delete;

private:
  int fd = -1;
};

/// Writes the process's crossovers, merged with what other runs added to
/// the file since it was read (ours kept where both measured a key).
void saveCache(Calibration &c) {
  std::string path = sparseCalibrationCachePath();
  if (!createCacheFolders(path))
    return;
  CacheFolderLock lock(path);
  try {
    if (auto entries = readCacheFile(path))
      for (const auto &[key, density] : *entries)
        c.known.insert({key, density});
  } catch (const Error &e) {
    c.fileUsable = false;
    warn(fmt::format("{} (not replaced)", e.what()));
    return;
  }
  nlohmann::json entries(nlohmann::json::value_t::object);
  for (const auto &[key, density] : c.known)
    entries[key] = density;
  // A cache that cannot be written costs a measurement next time, not the
  // run (runtime::WriteError is no bregman::Error: it ended runs).
  try {
    runtime::writeFileAtomically(
        path, "the sparse-exec calibration",
        nlohmann::json{{"version", kCacheVersion}, {"crossovers", entries}}
            .dump(1),
        runtime::anyExistingFile()); // read as a cache just above
  } catch (const std::exception &e) {
    warn(fmt::format("{} (measured again next time)", e.what()));
  }
}

} // namespace

std::string sparseCalibrationKey(int64_t rows, int64_t cols, int64_t batch,
                                 bool transposeW) {
  // The dense side is x·Wᵀ (x·W) in whichever library takes that GEMM here:
  // a crossover measured against another (another OPENBLAS_CORETYPE or
  // BREGMAN_GEMM, or a bregman that chose differently) does not apply.
  // A batch-major CSR form is named, so that a small batch's crossover
  // measured on the feature-major form before csrProduct chose is not used;
  // x·W is named (keys from before it was measured on its own are x·Wᵀ's).
  runtime::GemmShape forward =
      transposeW ? runtime::GemmShape{false, true, batch, rows, cols, 0.0f}
                 : runtime::GemmShape{false, false, batch, cols, rows, 0.0f};
  return fmt::format("{} | threads {} | gemm {} | [{}, {}] x batch {}{}{}", cpuModel(),
                     threadsSetting(), runtime::gemmLibraryFor(forward), rows,
                     cols, batch, transposeW ? "" : " | x.W",
                     csrProductIsBatchMajor(batch, transposeW) ? " | csr batch-major"
                                                               : "");
}

std::string sparseCalibrationCachePath() {
  if (const char *dir = std::getenv("BREGMAN_CACHE_DIR"); dir && *dir)
    return std::string(dir) + "/sparse-crossover.json";
  std::string base;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    base = xdg;
  else if (const char *home = std::getenv("HOME"); home && *home)
    base = std::string(home) + "/.cache";
  else
    base = "/tmp";
  return base + "/bregman/sparse-crossover.json";
}

std::map<std::string, double>
parseSparseCalibrationCache(const std::string &text, const std::string &origin) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    throw Error(fmt::format("{}: not a JSON object", origin));
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() ||
      version->get<int64_t>() != kCacheVersion)
    throw Error(fmt::format("{}: \"version\" must be {}", origin, kCacheVersion));
  auto crossovers = doc.find("crossovers");
  if (crossovers == doc.end() || !crossovers->is_object())
    throw Error(fmt::format("{}: \"crossovers\" must be an object", origin));
  std::map<std::string, double> out;
  for (const auto &[key, value] : crossovers->items()) {
    if (!value.is_number() || !(value.get<double>() >= 0) ||
        value.get<double>() > 1)
      throw Error(fmt::format("{}: crossover of '{}' must be a density in [0, 1]",
                              origin, key));
    out[key] = value.get<double>();
  }
  return out;
}

std::string describe(const SparseLayerDecision &d) {
  return fmt::format("{}: density {:.4g} {} crossover {:.3g} ({}): {}", d.weight,
                     d.density, d.density < d.crossover.density ? "<" : ">=",
                     d.crossover.density, d.crossover.source,
                     d.sparse ? "CSR" : "dense");
}

namespace {

/// BREGMAN_SPARSE_CALIBRATION: unset, empty or "on" measures, "off" uses
/// the fixed thresholds; anything else is refused rather than read as "on".
bool calibrationOff() {
  const char *setting = std::getenv("BREGMAN_SPARSE_CALIBRATION");
  if (!setting || !*setting || std::string(setting) == "on")
    return false;
  if (std::string(setting) == "off")
    return true;
  throw Error(fmt::format("BREGMAN_SPARSE_CALIBRATION='{}': expected on or off",
                          setting));
}

/// The crossover under `key`: the process's, the cache file's, or measured
/// now (then cached); `fixed` where it cannot be measured.
SparseCrossover crossoverOf(const std::string &key,
                            const std::function<double()> &measure,
                            double fixed, const std::string &what) {
  Calibration &c = calibration();
  std::lock_guard<std::mutex> lock(c.mutex);
  // The file named now (BREGMAN_CACHE_DIR may change within a process).
  if (std::string path = sparseCalibrationCachePath();
      !c.loaded || path != c.loadedPath)
    loadCache(c, path);
  if (auto it = c.known.find(key); it != c.known.end())
    return {it->second, "cached"};
  double density;
  try {
    density = measure();
  } catch (const std::exception &e) {
    // E.g. the GPU emulation, which has no sparse lowering, or memory: the
    // run goes on with the fixed threshold.
    warn(fmt::format("{}: {} (using the fixed {})", what, e.what(), fixed));
    return {fixed, "fixed"};
  }
  c.known[key] = density;
  if (c.fileUsable)
    saveCache(c);
  return {density, "measured"};
}

} // namespace

SparseCrossover sparseCrossover(int64_t rows, int64_t cols, int64_t batch,
                                bool transposeW) {
  if (batch <= 0 || rows <= 0 || cols <= 0 || calibrationOff())
    return {kSparseExecAutoDensity, "fixed"};
  return crossoverOf(
      sparseCalibrationKey(rows, cols, batch, transposeW),
      [&] { return measureCrossover(rows, cols, batch, transposeW); },
      kSparseExecAutoDensity,
      fmt::format("[{}, {}] x batch {}{}", rows, cols, batch, transposeW ? "" : " (x·W)"));
}

std::string sparseConvCalibrationKey(const std::array<int64_t, 4> &filter,
                                     const Conv2dOptions &o, bool withInputGradient,
                                     std::array<int64_t, 2> inputSize) {
  ConvCalibrationShape shape = convCalibrationShape(filter, o, inputSize);
  // One group is not written, so the keys cached before groups stay valid.
  std::string groups = o.groups == 1 ? "" : fmt::format(" groups {}", o.groups);
  return fmt::format("{} | threads {} | conv [{}, {}, {}, {}]{} strides [{}, {}] padding "
                     "[{}, {}, {}, {}] dilations [{}, {}] {} on {}x{} x batch {} | at 5, 30, "
                     "100 %",
                     cpuModel(), threadsSetting(), filter[0], filter[1], filter[2],
                     filter[3], groups, o.stride[0], o.stride[1], o.padding[0],
                     o.padding[1], o.padding[2], o.padding[3], o.dilation[0],
                     o.dilation[1], withInputGradient ? "forward + input gradient" : "forward",
                     shape.height, shape.width, shape.batch);
}

SparseCrossover sparseConvCrossover(const std::array<int64_t, 4> &filter,
                                    const Conv2dOptions &options,
                                    bool withInputGradient,
                                    std::array<int64_t, 2> inputSize) {
  // Filters larger than a calibration can afford to allocate and time, or
  // windows wider than its samples, keep the fixed rule.
  ConvCalibrationShape shape = convCalibrationShape(filter, options, inputSize);
  if (!shape.measurable || calibrationOff())
    return {kSparseConvAutoDensity, "fixed"};
  return crossoverOf(
      sparseConvCalibrationKey(filter, options, withInputGradient, inputSize),
      [&] { return measureConvCrossover(filter, options, withInputGradient, shape); },
      kSparseConvAutoDensity,
      fmt::format("filter [{}, {}, {}, {}] at strides [{}, {}]{}", filter[0], filter[1],
                  filter[2], filter[3], options.stride[0], options.stride[1],
                  options.groups == 1 ? "" : fmt::format(", groups {}", options.groups)));
}

} // namespace bregman::nn
