//===- SparseCalibrationTest.cpp - The measured CSR crossover and its cache ===//
//
// Each test names its own cache folder (BREGMAN_CACHE_DIR), which the
// process-wide table of crossovers follows.
//
//===----------------------------------------------------------------------===//

#include "bregman/Error.h"
#include "bregman/nn.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace bregman;

namespace {

/// A fresh folder for the cache, set as BREGMAN_CACHE_DIR for the test.
struct CacheDir {
  std::filesystem::path path;
  CacheDir() {
    char pattern[] = "/tmp/bregman-calibration-XXXXXX";
    path = ::mkdtemp(pattern);
    ::setenv("BREGMAN_CACHE_DIR", (path / "nested").c_str(), 1);
    ::unsetenv("BREGMAN_SPARSE_CALIBRATION");
  }
  ~CacheDir() { std::filesystem::remove_all(path); }
  std::filesystem::path file() const { return path / "nested/sparse-crossover.json"; }
};

/// Sparse layers are compiled for the CPU only: under the GPU emulation
/// (BREGMAN_EMULATE_GPU=1, under which ctest runs this suite again) the
/// calibration cannot measure and falls back to the fixed threshold.
bool gpuEmulation() {
  const char *emulate = std::getenv("BREGMAN_EMULATE_GPU");
  return emulate && std::string(emulate) == "1";
}

std::string slurp(const std::filesystem::path &p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace

TEST(SparseCalibration, MeasuresOnceThenReadsItsCache) {
  CacheDir dir;
  if (gpuEmulation()) {
    nn::SparseCrossover c = nn::sparseCrossover(80, 200, 128);
    EXPECT_EQ(c.source, "fixed");
    EXPECT_EQ(c.density, nn::kSparseExecAutoDensity);
    return;
  }
  EXPECT_EQ(nn::sparseCalibrationCachePath(), dir.file().string());
  nn::SparseCrossover first = nn::sparseCrossover(80, 200, 128);
  EXPECT_EQ(first.source, "measured");
  EXPECT_GE(first.density, 0.0);
  EXPECT_LE(first.density, 0.9);
  nn::SparseCrossover again = nn::sparseCrossover(80, 200, 128);
  EXPECT_EQ(again.source, "cached");
  EXPECT_EQ(again.density, first.density);
  // The file holds it under a key naming the shape and batch.
  auto cached = nn::parseSparseCalibrationCache(slurp(dir.file()), "cache");
  ASSERT_EQ(cached.size(), 1u);
  EXPECT_NE(cached.begin()->first.find("[80, 200] x batch 128"), std::string::npos)
      << cached.begin()->first;
  // ... and the library that ran the dense side.
  EXPECT_NE(cached.begin()->first.find(" | gemm "), std::string::npos)
      << cached.begin()->first;
  EXPECT_EQ(cached.begin()->second, first.density);
}

TEST(SparseCalibration, AnEarlierRunsCacheIsUsedWithoutMeasuring) {
  CacheDir dir;
  std::filesystem::create_directories(dir.file().parent_path());
  nlohmann::json doc = {{"version", 1},
                        {"crossovers", {{nn::sparseCalibrationKey(10, 80, 7), 0.123}}}};
  std::ofstream(dir.file()) << doc.dump();
  nn::SparseCrossover c = nn::sparseCrossover(10, 80, 7);
  EXPECT_EQ(c.source, "cached");
  EXPECT_EQ(c.density, 0.123);
  // Another batch of the same shape is another entry: measured, and added
  // to the file beside the first.
  if (gpuEmulation())
    GTEST_SKIP() << "no sparse lowering under the GPU emulation";
  EXPECT_EQ(nn::sparseCrossover(10, 80, 8).source, "measured");
  EXPECT_EQ(nn::parseSparseCalibrationCache(slurp(dir.file()), "cache").size(), 2u);
}

/// A cache file holding only `older` (an entry an earlier bregman wrote for
/// [10, 80] x batch 7 under another key): the crossover is measured, not
/// read from it, and added beside it, which is kept as it was.
static void expectMeasuredBesideAnOlderEntry(const std::string &older) {
  CacheDir dir;
  std::filesystem::create_directories(dir.file().parent_path());
  nlohmann::json doc = {{"version", 1}, {"crossovers", {{older, 0.123}}}};
  std::ofstream(dir.file()) << doc.dump();
  if (gpuEmulation())
    GTEST_SKIP() << "no sparse lowering under the GPU emulation";
  EXPECT_EQ(nn::sparseCrossover(10, 80, 7).source, "measured");
  auto cached = nn::parseSparseCalibrationCache(slurp(dir.file()), "cache");
  EXPECT_EQ(cached.size(), 2u);
  EXPECT_EQ(cached.at(older), 0.123);
}

TEST(SparseCalibration, ACrossoverMeasuredAgainstAnotherGemmLibraryIsNotUsed) {
  // As an earlier bregman that sent this GEMM elsewhere would have cached it.
  std::string key = nn::sparseCalibrationKey(10, 80, 7);
  size_t at = key.find(" | gemm ");
  ASSERT_NE(at, std::string::npos) << key;
  std::string other = key.substr(0, at) + " | gemm another library" +
                      key.substr(key.find(" | ", at + 3));
  expectMeasuredBesideAnOlderEntry(other);
}

TEST(SparseCalibration, ASmallBatchsCrossoverMeasuredOnTheFeatureMajorFormIsNotUsed) {
  // Below 16 rows csrProduct runs batch-major; the key says so, and an entry
  // an earlier bregman measured on the feature-major form (the same key
  // without it) is not used.
  std::string key = nn::sparseCalibrationKey(10, 80, 7);
  const std::string suffix = " | csr batch-major";
  ASSERT_GT(key.size(), suffix.size());
  ASSERT_EQ(key.substr(key.size() - suffix.size()), suffix) << key;
  EXPECT_EQ(nn::sparseCalibrationKey(10, 80, 16).find(suffix), std::string::npos);
  expectMeasuredBesideAnOlderEntry(key.substr(0, key.size() - suffix.size()));
}

TEST(SparseCalibration, AnUntransposedWeightIsMeasuredInItsOwnProduct) {
  // An ONNX MatMul's weight W [in, out] runs x·W (csrProduct: always
  // feature-major), not x·Wᵀ: its own key and measurement.
  std::string xw = nn::sparseCalibrationKey(80, 200, 7, /*transposeW=*/false);
  EXPECT_NE(xw, nn::sparseCalibrationKey(80, 200, 7));
  EXPECT_NE(xw.find(" | x.W"), std::string::npos) << xw;
  EXPECT_EQ(xw.find("batch-major"), std::string::npos) << xw;
  CacheDir dir;
  if (gpuEmulation())
    GTEST_SKIP() << "no sparse lowering under the GPU emulation";
  nn::SparseCrossover first = nn::sparseCrossover(80, 200, 7, false);
  EXPECT_EQ(first.source, "measured");
  EXPECT_GE(first.density, 0.0);
  EXPECT_LE(first.density, 0.9);
  EXPECT_EQ(nn::sparseCrossover(80, 200, 7, false).source, "cached");
  auto cached = nn::parseSparseCalibrationCache(slurp(dir.file()), "cache");
  ASSERT_EQ(cached.size(), 1u);
  EXPECT_EQ(cached.begin()->first, xw);
}

TEST(SparseCalibration, ADamagedCacheIsNeitherUsedNorReplaced) {
  CacheDir dir;
  std::filesystem::create_directories(dir.file().parent_path());
  std::ofstream(dir.file()) << "not json at all";
  nn::SparseCrossover c = nn::sparseCrossover(80, 200, 16);
  EXPECT_EQ(c.source, gpuEmulation() ? "fixed" : "measured");
  EXPECT_EQ(slurp(dir.file()), "not json at all");
}

TEST(SparseCalibration, AFifoOrFolderInTheCachesPlaceIsNeitherReadNorReplaced) {
  // A FIFO blocked the run forever in open(); neither is replaced.
  CacheDir dir;
  std::filesystem::create_directories(dir.file().parent_path());
  ASSERT_EQ(::mkfifo(dir.file().c_str(), 0600), 0);
  nn::SparseCrossover c = nn::sparseCrossover(80, 200, 17);
  EXPECT_EQ(c.source, gpuEmulation() ? "fixed" : "measured");
  EXPECT_TRUE(std::filesystem::is_fifo(dir.file()));
  std::filesystem::remove(dir.file());
  std::filesystem::create_directory(dir.file());
  EXPECT_EQ(nn::sparseCrossover(80, 200, 18).source,
            gpuEmulation() ? "fixed" : "measured");
  EXPECT_TRUE(std::filesystem::is_directory(dir.file()));
}

TEST(SparseCalibration, EntriesAnotherRunAddedMeanwhileAreKept) {
  // Runs calibrating at once each kept only their own entries.
  if (gpuEmulation())
    GTEST_SKIP() << "no sparse lowering under the GPU emulation";
  CacheDir dir;
  EXPECT_EQ(nn::sparseCrossover(10, 80, 9).source, "measured");
  // Another process adds its entry after this one read the file.
  auto file = nlohmann::json::parse(slurp(dir.file()));
  file["crossovers"]["another run's layer"] = 0.25;
  std::ofstream(dir.file()) << file.dump();
  EXPECT_EQ(nn::sparseCrossover(10, 80, 10).source, "measured");
  auto cached = nn::parseSparseCalibrationCache(slurp(dir.file()), "cache");
  EXPECT_EQ(cached.size(), 3u);
  EXPECT_EQ(cached.at("another run's layer"), 0.25);
}

TEST(SparseCalibration, FixedWithoutABatchOrWhenSwitchedOff) {
  CacheDir dir;
  nn::SparseCrossover unknown = nn::sparseCrossover(80, 200, 0);
  EXPECT_EQ(unknown.source, "fixed");
  EXPECT_EQ(unknown.density, nn::kSparseExecAutoDensity);
  ::setenv("BREGMAN_SPARSE_CALIBRATION", "off", 1);
  nn::SparseCrossover off = nn::sparseCrossover(80, 200, 128);
  ::unsetenv("BREGMAN_SPARSE_CALIBRATION");
  EXPECT_EQ(off.source, "fixed");
  EXPECT_FALSE(std::filesystem::exists(dir.file())) << "nothing measured, nothing written";
}

TEST(SparseCalibration, RefusesAnUnknownSwitch) {
  CacheDir dir;
  ::setenv("BREGMAN_SPARSE_CALIBRATION", "of", 1);
  try {
    nn::sparseCrossover(80, 200, 128);
    ADD_FAILURE() << "a misspelt switch was read as on";
  } catch (const Error &e) {
    std::string message = e.what();
    EXPECT_NE(message.find("BREGMAN_SPARSE_CALIBRATION='of'"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("expected on or off"), std::string::npos) << message;
  }
  ::unsetenv("BREGMAN_SPARSE_CALIBRATION");
  EXPECT_FALSE(std::filesystem::exists(dir.file()))
      << "nothing measured, nothing written";
}

TEST(SparseCalibration, TheCacheParserNamesWhatIsWrong) {
  struct Case {
    const char *text, *message;
  };
  for (const Case &c : {
           Case{"[]", "cache.json: not a JSON object"},
           Case{"{\"crossovers\": {}}", "\"version\" must be 1"},
           Case{"{\"version\": 2, \"crossovers\": {}}", "\"version\" must be 1"},
           Case{"{\"version\": 1}", "\"crossovers\" must be an object"},
           Case{"{\"version\": 1, \"crossovers\": {\"k\": 1.5}}",
                "crossover of 'k' must be a density in [0, 1]"},
           Case{"{\"version\": 1, \"crossovers\": {\"k\": \"0.2\"}}",
                "crossover of 'k' must be a density"},
           Case{"{\"version\": 1, \"crossovers\": {\"k\": -0.1}}",
                "crossover of 'k' must be a density"}}) {
    try {
      nn::parseSparseCalibrationCache(c.text, "cache.json");
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos)
          << c.text << " -> " << e.what();
    }
  }
  auto ok = nn::parseSparseCalibrationCache(
      "{\"version\": 1, \"crossovers\": {\"a\": 0.25, \"b\": 0}}", "cache.json");
  EXPECT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok.at("a"), 0.25);
}

// The decision `auto` makes per weight, and what it says about it.
TEST(SparseCalibration, AutoComparesEachWeightWithItsCrossover) {
  CacheDir dir;
  ::setenv("BREGMAN_SPARSE_CALIBRATION", "off", 1); // the fixed 0.3: deterministic
  Params params;
  std::vector<float> sparse(20 * 10, 0.0f), dense(20 * 10, 1.0f);
  sparse[3] = 1.0f;
  params.add("a.weight", Tensor::fromVector(sparse, {20, 10}));
  params.add("b.weight", Tensor::fromVector(dense, {20, 10}));
  std::vector<std::string> chosen;
  std::vector<nn::SparseLayerDecision> decisions;
  Params out = nn::withCsrWeights(params, nn::SparseExec::Auto, &chosen, 64, &decisions);
  ::unsetenv("BREGMAN_SPARSE_CALIBRATION");
  EXPECT_EQ(chosen, std::vector<std::string>{"a.weight"});
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_TRUE(decisions[0].sparse);
  EXPECT_FALSE(decisions[1].sparse);
  EXPECT_EQ(nn::describe(decisions[0]),
            "a.weight: density 0.005 < crossover 0.3 (fixed): CSR");
  EXPECT_EQ(nn::describe(decisions[1]),
            "b.weight: density 1 >= crossover 0.3 (fixed): dense");
  EXPECT_TRUE(out.contains("a.weight.csr.values"));
  EXPECT_FALSE(out.contains("b.weight.csr.values"));
}

// A convolution's crossover: measured once per filter shape, layer geometry
// and use (the forward pass alone, or with the input gradient), cached
// under a key that names all three, then read back; `auto` compares a
// filter's kernel density with it (evaluation: forward; training, batch 0:
// with the gradient).
TEST(SparseCalibration, ConvolutionsMeasureTheirOwnCrossover) {
  CacheDir dir;
  const std::array<int64_t, 4> filter{6, 2, 3, 3};
  Conv2dOptions same{{1, 1}, {1, 1, 1, 1}, {1, 1}, 1};
  Conv2dOptions strided{{2, 2}, {1, 1, 1, 1}, {1, 1}, 1};
  Conv2dOptions grouped{{1, 1}, {1, 1, 1, 1}, {1, 1}, 3}; // 6 input channels
  if (gpuEmulation()) {
    nn::SparseCrossover c = nn::sparseConvCrossover(filter, same, true);
    EXPECT_EQ(c.source, "fixed");
    EXPECT_EQ(c.density, nn::kSparseConvAutoDensity);
    return;
  }
  nn::SparseCrossover forward = nn::sparseConvCrossover(filter, same, false);
  nn::SparseCrossover training = nn::sparseConvCrossover(filter, same, true);
  nn::SparseCrossover stridedForward = nn::sparseConvCrossover(filter, strided, false);
  nn::SparseCrossover groupedForward = nn::sparseConvCrossover(filter, grouped, false);
  EXPECT_EQ(forward.source, "measured");
  EXPECT_EQ(training.source, "measured");
  EXPECT_EQ(stridedForward.source, "measured");
  EXPECT_EQ(groupedForward.source, "measured");
  for (double d : {forward.density, training.density, stridedForward.density,
                   groupedForward.density}) {
    EXPECT_GE(d, 0.0);
    EXPECT_LE(d, 1.0);
  }
  EXPECT_EQ(nn::sparseConvCrossover(filter, same, true).source, "cached");
  auto cached = nn::parseSparseCalibrationCache(slurp(dir.file()), "cache");
  ASSERT_EQ(cached.size(), 4u);
  EXPECT_EQ(cached.at(nn::sparseConvCalibrationKey(filter, same, false)), forward.density);
  EXPECT_EQ(cached.at(nn::sparseConvCalibrationKey(filter, same, true)), training.density);
  EXPECT_EQ(cached.at(nn::sparseConvCalibrationKey(filter, strided, false)),
            stridedForward.density);
  EXPECT_NE(nn::sparseConvCalibrationKey(filter, same, true)
                .find("conv [6, 2, 3, 3] strides [1, 1] padding [1, 1, 1, 1] dilations "
                      "[1, 1] forward + input gradient on 16x16 x batch 1024"),
            std::string::npos);
  EXPECT_EQ(cached.at(nn::sparseConvCalibrationKey(filter, grouped, false)),
            groupedForward.density);
  EXPECT_NE(nn::sparseConvCalibrationKey(filter, grouped, false)
                .find("conv [6, 2, 3, 3] groups 3 strides [1, 1]"),
            std::string::npos);
  // A stride-2 layer is measured on 32×32 samples (16×16 outputs).
  EXPECT_NE(nn::sparseConvCalibrationKey(filter, strided, false)
                .find("strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1] forward on "
                      "32x32 x batch 1024"),
            std::string::npos);
  // `auto` on filters with 1 to 12 of their 12 kernels alive: CSR exactly
  // below the training crossover; every kernel alive is dense unmeasured.
  nn::SparseFilters filters{{"c.weight", nn::SparseFilter{same}}};
  for (int64_t alive = 1; alive <= 12; ++alive) {
    std::vector<float> w(6 * 2 * 9, 0.0f);
    std::fill_n(w.begin(), alive * 9, 1.0f);
    Params params{{"c.weight", Tensor::fromVector(w, {6, 2, 3, 3})}};
    std::vector<nn::SparseLayerDecision> decisions;
    nn::withCsrWeights(params, nn::SparseExec::Auto, nullptr, 0, &decisions,
                       nn::kSparseExecAutoDensity, &filters);
    ASSERT_EQ(decisions.size(), 1u);
    const nn::SparseLayerDecision &d = decisions[0];
    EXPECT_EQ(d.crossover.source, alive < 12 ? "cached" : "fixed") << nn::describe(d);
    EXPECT_EQ(d.sparse, alive < 12 && d.density < training.density) << nn::describe(d);
  }
}

// With the layer's input size known, the crossover is measured on samples
// of that size (as many as make about 50 M multiply-adds, at least one)
// under a key of its own; a size whose single sample would take more than a
// call's bound, or none, falls back to the 16·stride squares.
TEST(SparseCalibration, ConvolutionsAreMeasuredAtTheirInputSize) {
  CacheDir dir;
  const std::array<int64_t, 4> filter{6, 2, 3, 3};
  Conv2dOptions valid{{1, 1}, {0, 0, 0, 0}, {1, 1}, 1};
  std::string standard = nn::sparseConvCalibrationKey(filter, valid, true);
  std::string at12 = nn::sparseConvCalibrationKey(filter, valid, true, {12, 12});
  std::string at40x20 = nn::sparseConvCalibrationKey(filter, valid, false, {40, 20});
  EXPECT_NE(standard.find("on 16x16 x batch 1024"), std::string::npos) << standard;
  // 6·2·9 multiply-adds at each of 10×10 outputs: 10,800 a sample.
  EXPECT_NE(at12.find("on 12x12 x batch 1024"), std::string::npos) << at12;
  // 38×18 outputs: 73,872 a sample, 676 samples to 50 M.
  EXPECT_NE(at40x20.find("on 40x20 x batch 676"), std::string::npos) << at40x20;
  const std::array<int64_t, 4> wide{256, 256, 3, 3};
  // 589,824 multiply-adds per output pixel: 256×256 outputs make 38.7 G
  // for one sample, beyond a call's bound: the standard size.
  EXPECT_EQ(nn::sparseConvCalibrationKey(wide, Conv2dOptions{{1, 1}, {1, 1, 1, 1}}, false,
                                         {256, 256}),
            nn::sparseConvCalibrationKey(wide, Conv2dOptions{{1, 1}, {1, 1, 1, 1}}, false));
  // 64×64 outputs: 2.4 G, one sample a call.
  EXPECT_NE(nn::sparseConvCalibrationKey(wide, Conv2dOptions{{1, 1}, {1, 1, 1, 1}}, false,
                                         {64, 64})
                .find("on 64x64 x batch 1"),
            std::string::npos);
  // Memory bounds the samples too: a 1×1 filter of 64 channels at stride 8
  // on 4096×4096 would read 1 G floats a sample, so the standard 128×128
  // squares, 61 of them (64 M floats), not the 1024 their work allows.
  EXPECT_NE(nn::sparseConvCalibrationKey({1, 64, 1, 1}, Conv2dOptions{{8, 8}}, false,
                                         {4096, 4096})
                .find("on 128x128 x batch 61 "),
            std::string::npos);
  // A window wider than the input: the standard size.
  EXPECT_EQ(nn::sparseConvCalibrationKey(filter, valid, true, {2, 2}), standard);
  if (gpuEmulation())
    return;
  nn::SparseCrossover c = nn::sparseConvCrossover(filter, valid, true, {12, 12});
  EXPECT_EQ(c.source, "measured");
  auto cached = nn::parseSparseCalibrationCache(slurp(dir.file()), "cache");
  ASSERT_EQ(cached.size(), 1u);
  EXPECT_EQ(cached.count(at12), 1u);
  EXPECT_EQ(nn::sparseConvCrossover(filter, valid, true, {12, 12}).source, "cached");
  // The decision reads the filter's input size.
  nn::SparseFilters filters{{"c.weight", nn::SparseFilter{valid, {12, 12}}}};
  std::vector<float> w(6 * 2 * 9, 0.0f);
  std::fill_n(w.begin(), 9, 1.0f);
  std::vector<nn::SparseLayerDecision> decisions;
  nn::csrWeights(Params{{"c.weight", Tensor::fromVector(w, {6, 2, 3, 3})}},
                 nn::SparseExec::Auto, nullptr, 0, &decisions, nn::kSparseExecAutoDensity,
                 &filters);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].crossover.source, "cached");
  EXPECT_EQ(decisions[0].crossover.density, c.density);
}

// The crossing on the segment whose end passes the dense time: conv2's
// forward pass as the bench timed it (ms at 5, 30, 100 %; dense 7) crosses
// at 0.395 on the 30-100 % segment, where one line through the ends says
// 0.32; below the first point the first segment is extended, above the last
// the last (up to `most`); a noisy dip does not end the search early;
// coinciding densities count once.
TEST(SparseCalibration, PiecewiseCrossingTakesTheSegmentThatCrosses) {
  const std::vector<double> densities{0.05, 0.3, 1.0};
  EXPECT_NEAR(nn::piecewiseCrossing(7.0, {1.4, 4.8, 21.0}, densities), 0.395, 1e-3);
  EXPECT_NEAR(nn::piecewiseCrossing(3.1, {1.4, 4.8, 21.0}, densities), 0.175, 1e-3);
  EXPECT_NEAR(nn::piecewiseCrossing(1.0, {2.0, 4.0, 8.0}, densities), 0.0, 1e-12);
  EXPECT_NEAR(nn::piecewiseCrossing(3.0, {2.0, 4.0, 8.0}, densities), 0.175, 1e-3);
  EXPECT_EQ(nn::piecewiseCrossing(30.0, {2.0, 4.0, 8.0}, densities), 1.0);
  EXPECT_NEAR(nn::piecewiseCrossing(30.0, {2.0, 4.0, 8.0}, densities, 0.9), 0.9, 1e-12);
  EXPECT_NEAR(nn::piecewiseCrossing(5.0, {2.0, 1.5, 8.0}, densities), 0.677, 1e-3);
  EXPECT_NEAR(nn::piecewiseCrossing(5.0, {2.0, 2.0, 8.0}, {0.5, 0.5, 1.0}), 0.75, 1e-12);
  EXPECT_EQ(nn::piecewiseCrossing(5.0, {2.0, 3.0}, {1.0, 1.0}), 1.0);
  EXPECT_EQ(nn::piecewiseCrossing(1.0, {2.0, 3.0}, {1.0, 1.0}), 0.0);
  EXPECT_THROW(nn::piecewiseCrossing(1.0, {2.0}, {0.1, 0.2}), Error);
}

// The input sizes come from a trace of the forward pass: conv1 reads 28×28,
// conv2 (after a 2×2 pooling) 14×14; a filter convolved at two sizes, one
// reshaped before its convolution and one never used stay unknown.
TEST(SparseCalibration, FilterInputSizesComeFromATraceOfTheForwardPass) {
  Conv2dOptions same{{1, 1}, {1, 1, 1, 1}, {1, 1}, 1};
  nn::SparseFilters filters;
  for (const char *name : {"conv1.weight", "conv2.weight", "shared.weight",
                           "reshaped.weight", "unused.weight"})
    filters.emplace(name, nn::SparseFilter{same});
  Params params{{"conv1.weight", Tensor::zeros({4, 1, 3, 3})},
                {"conv2.weight", Tensor::zeros({4, 4, 3, 3})},
                {"shared.weight", Tensor::zeros({4, 4, 3, 3})},
                {"reshaped.weight", Tensor::zeros({4, 36})},
                {"unused.weight", Tensor::zeros({4, 4, 3, 3})}};
  Params input{{"x", Tensor::zeros({2, 784})}};
  nn::addFilterInputSizes(filters, {params, input}, [&](const std::vector<Params> &in) {
    const Params &p = in[0];
    Tensor x = reshape(in[1].at("x"), {2, 1, 28, 28});
    Tensor h = conv2d(x, p.at("conv1.weight"), same);
    Tensor s = conv2d(h, p.at("shared.weight"), same);
    Tensor pooled = maxPool2d(s);
    Tensor y = conv2d(pooled, p.at("conv2.weight"), same);
    y = conv2d(y, p.at("shared.weight"), same);
    conv2d(y, reshape(p.at("reshaped.weight"), {4, 4, 3, 3}), same);
  });
  using Size = std::array<int64_t, 2>;
  EXPECT_EQ(filters.at("conv1.weight").inputSize, (Size{28, 28}));
  EXPECT_EQ(filters.at("conv2.weight").inputSize, (Size{14, 14}));
  EXPECT_EQ(filters.at("shared.weight").inputSize, (Size{0, 0}));
  EXPECT_EQ(filters.at("reshaped.weight").inputSize, (Size{0, 0}));
  EXPECT_EQ(filters.at("unused.weight").inputSize, (Size{0, 0}));
}

TEST(SparseCalibration, ConvolutionsBeyondACalibrationKeepTheFixedRule) {
  CacheDir dir;
  for (const std::array<int64_t, 4> &filter :
       {std::array<int64_t, 4>{5000, 3, 3, 3}, {512, 512, 3, 3}, {8, 8, 17, 1},
        {0, 3, 3, 3}}) {
    nn::SparseCrossover c = nn::sparseConvCrossover(filter, Conv2dOptions{}, false);
    EXPECT_EQ(c.source, "fixed");
    EXPECT_EQ(c.density, nn::kSparseConvAutoDensity);
  }
  // Geometries beyond one too: a stride above 8, a dilated window wider
  // than the samples, groups that do not divide the 6 outputs.
  for (const Conv2dOptions &o :
       {Conv2dOptions{{9, 1}, {0, 0, 0, 0}, {1, 1}, 1},
        Conv2dOptions{{1, 1}, {0, 0, 0, 0}, {8, 1}, 1},
        Conv2dOptions{{1, 1}, {0, 0, 0, 0}, {1, 1}, 4}})
    EXPECT_EQ(nn::sparseConvCrossover({6, 2, 3, 3}, o, false).source, "fixed");
  ::setenv("BREGMAN_SPARSE_CALIBRATION", "off", 1);
  EXPECT_EQ(nn::sparseConvCrossover({6, 2, 3, 3}, Conv2dOptions{}, true).source, "fixed");
  ::unsetenv("BREGMAN_SPARSE_CALIBRATION");
  EXPECT_FALSE(std::filesystem::exists(dir.file())) << "nothing measured, nothing written";
}
