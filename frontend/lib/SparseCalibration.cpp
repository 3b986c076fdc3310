//===- SparseCalibration.cpp - Where a CSR layer starts to pay, measured ---===//
//
// `--sparse-exec auto` runs a linear layer on its CSR when its density is
// below the crossover of its shape and batch on this machine. The crossover
// is measured once (the dense GEMM against the feature-major CSR form at two
// densities; the CSR's time is close to linear in its stored entries, so a
// line through the two points gives the density where it meets the GEMM)
// and kept for the process and in a small JSON cache file, so that later
// runs do not measure again.
//
//===----------------------------------------------------------------------===//

#include "bregman/Error.h"
#include "bregman/Jit.h"
#include "bregman/Tensor.h"
#include "bregman/nn.h"
#include "bregman/runtime/SafeWrite.h"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
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

/// Seconds per call of `fn`: the least over 9 rounds of calls adding up to
/// about 4 ms each (after one warm-up call): the least is the figure least
/// disturbed by other work on the machine.
template <typename Fn> double secondsPerCall(Fn fn) {
  using Clock = std::chrono::steady_clock;
  fn();
  auto t0 = Clock::now();
  fn();
  double once = std::chrono::duration<double>(Clock::now() - t0).count();
  int calls = static_cast<int>(std::clamp(4e-3 / std::max(once, 1e-7), 1.0, 2000.0));
  double best = once;
  for (int round = 0; round < 9; ++round) {
    auto start = Clock::now();
    for (int i = 0; i < calls; ++i)
      fn();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count() / calls);
  }
  return best;
}

Tensor randomMatrix(std::mt19937 &rng, int64_t rows, int64_t cols, double density) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(rows * cols), 0.0f);
  for (float &x : v)
    if (u(rng) < density)
      x = u(rng) - 0.5f;
  return Tensor::fromVector(v, {rows, cols});
}

/// The density at which the CSR form's time (a line through its times at
/// the two densities) reaches the dense GEMM's.
double measureCrossover(int64_t rows, int64_t cols, int64_t batch) {
  std::mt19937 rng(7);
  Tensor x = randomMatrix(rng, batch, cols, 1.0);
  Tensor xt = randomMatrix(rng, cols, batch, 1.0);
  auto dense = jit([](const Tensor &a, const Tensor &w) {
    return matmul(a, w, false, true);
  }, JitOptions{{}, "calibrate_dense"});
  auto sparse = jit([rows, cols](const Tensor &at, const Tensor &p,
                                 const Tensor &c, const Tensor &v) {
    return sparseMatmulLeft(CsrWeight{p, c, v, Tensor(), rows, cols}, at, false);
  }, JitOptions{{}, "calibrate_csr"});
  auto sparseSeconds = [&](double density) {
    CsrWeight w = compressRows(randomMatrix(rng, rows, cols, density), rows * cols);
    return secondsPerCall([&] { sparse(xt, w.positions, w.coordinates, w.values); });
  };
  Tensor w = randomMatrix(rng, rows, cols, 1.0);
  double denseTime = secondsPerCall([&] { dense(x, w); });
  double low = sparseSeconds(kLowDensity), high = sparseSeconds(kHighDensity);
  double slope = (high - low) / (kHighDensity - kLowDensity);
  if (!(slope > 0)) // timing noise: trust the two points only
    return high < denseTime ? kHighDensity : low < denseTime ? kLowDensity : 0.0;
  double crossover = kLowDensity + (denseTime - low) / slope;
  return std::clamp(crossover, 0.0, kMaxCrossover);
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

void loadCache(Calibration &c, const std::string &path) {
  c.known.clear();
  c.fileUsable = true;
  c.loaded = true;
  c.loadedPath = path;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return; // not measured on this machine yet
  std::ostringstream text;
  text << in.rdbuf();
  try {
    c.known = parseSparseCalibrationCache(text.str(), path);
  } catch (const Error &e) {
    // Someone else's file, or a damaged one: measure, but leave it alone.
    c.fileUsable = false;
    warn(fmt::format("{} (not used, not replaced)", e.what()));
  }
}

void saveCache(const Calibration &c) {
  std::string path = sparseCalibrationCachePath();
  // Creates the missing folders of the path (~/.cache may not exist yet);
  // nothing that exists is touched.
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      warn(fmt::format("cannot create {}: {} (measured again next time)", dir,
                       std::strerror(errno)));
      return;
    }
  }
  nlohmann::json entries(nlohmann::json::value_t::object);
  for (const auto &[key, density] : c.known)
    entries[key] = density;
  try {
    runtime::writeFileAtomically(
        path, "the sparse-exec calibration",
        nlohmann::json{{"version", kCacheVersion}, {"crossovers", entries}}.dump(1));
  } catch (const Error &e) {
    warn(fmt::format("{} (measured again next time)", e.what()));
  }
}

} // namespace

std::string sparseCalibrationKey(int64_t rows, int64_t cols, int64_t batch) {
  return fmt::format("{} | threads {} | [{}, {}] x batch {}", cpuModel(),
                     threadsSetting(), rows, cols, batch);
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

SparseCrossover sparseCrossover(int64_t rows, int64_t cols, int64_t batch) {
  const char *setting = std::getenv("BREGMAN_SPARSE_CALIBRATION");
  if (batch <= 0 || rows <= 0 || cols <= 0 ||
      (setting && std::string(setting) == "off"))
    return {kSparseExecAutoDensity, "fixed"};
  Calibration &c = calibration();
  std::lock_guard<std::mutex> lock(c.mutex);
  // The file named now (BREGMAN_CACHE_DIR may change within a process).
  if (std::string path = sparseCalibrationCachePath();
      !c.loaded || path != c.loadedPath)
    loadCache(c, path);
  std::string key = sparseCalibrationKey(rows, cols, batch);
  if (auto it = c.known.find(key); it != c.known.end())
    return {it->second, "cached"};
  double density;
  try {
    density = measureCrossover(rows, cols, batch);
  } catch (const Error &e) {
    // E.g. the GPU emulation, which has no sparse lowering: the run goes
    // on with the fixed threshold.
    warn(fmt::format("[{}, {}] x batch {}: {} (using the fixed {})", rows,
                     cols, batch, e.what(), kSparseExecAutoDensity));
    return {kSparseExecAutoDensity, "fixed"};
  }
  c.known[key] = density;
  if (c.fileUsable)
    saveCache(c);
  return {density, "measured"};
}

} // namespace bregman::nn
