//===- ArtifactTest.cpp - Steps compiled ahead of time --------------------===//
//
// Jitted::save writes a step as an artifact (shared object, manifest, initial
// values); runtime::Artifact runs it without the compiler. The saved MLP
// training step, run three times from its saved state, matches the jit run
// on the same arguments; a CUDA artifact builds without a GPU; errors name
// the file and leave the user's files alone.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "bregman/bregman.h"
#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/CudaDriver.h"
#include "bregman/models/Zoo.h"

#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <random>

using namespace bregman;
namespace fs = std::filesystem;

namespace {

struct MlpStep {
  models::MLP model{{20, 16, 8, 4}};
  optim::LinBreg opt{{{"weights", optim::weights(), Regularizer::L1, 0.1f, 1.0f,
                       0.05f, 0.9f},
                      {"biases", optim::biases(), Regularizer::None, 0.1f,
                       1.0f, 0.0f, 0.9f}}};
  Params params = model.init(7, nn::SparseInit{0.5, 1.5});
  Params state = opt.init(params);
  Tensor x, y;

  MlpStep() { std::tie(x, y) = bregman::testing::fixedBatch(12, 20, 4); }

  auto jitted(Device device = Device::Cpu, std::string chip = "") {
    return jit(
        [this](const Params &p, const Params &s, const Tensor &xb,
               const Tensor &yb) {
          auto [loss, g] = valueAndGrad([&](const Params &q) {
            return crossEntropy(model(q, xb), yb);
          })(p);
          auto [p2, s2] = opt.update(p, s, g);
          return std::make_tuple(p2, s2, loss);
        },
        JitOptions{{0, 1}, "mlp_step", device, std::move(chip)});
  }
};

fs::path freshDir(const std::string &name) {
  fs::path dir = fs::temp_directory_path() /
                 ("bregman-artifact-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  return dir;
}

TEST(Artifact, SavedStepRunsLikeTheJit) {
  MlpStep m;
  fs::path dir = freshDir("cpu");
  auto step = m.jitted();
  step.save(dir.string(), m.params, m.state, m.x, m.y);
  ASSERT_TRUE(fs::exists(dir / "step.so"));

  std::unique_ptr<runtime::Artifact> artifact =
      runtime::Artifact::load(dir.string());
  EXPECT_EQ(artifact->device, "cpu");
  ASSERT_EQ(artifact->inputs.size(), m.params.size() + m.state.size() + 2);

  Params params = m.params, state = m.state;
  for (int k = 0; k < 3; ++k) {
    auto [p2, s2, loss] = step(params, state, m.x, m.y);
    params = p2;
    state = s2;
    artifact->step();
    size_t lossOutput = artifact->outputs.size() - 1;
    EXPECT_NEAR(artifact->scalarOutput(lossOutput), loss.item(),
                1e-6 * std::fabs(loss.item()))
        << "call " << k;
  }
  // The state carried over inside the artifact equals the jit's.
  size_t i = 0;
  for (const auto &[name, t] : params) {
    const float *got = static_cast<const float *>(artifact->input(i).data());
    std::vector<float> want = t.toVector<float>();
    for (size_t j = 0; j < want.size(); ++j)
      ASSERT_NEAR(got[j], want[j], 1e-6 + 1e-5 * std::fabs(want[j]))
          << name << "[" << j << "]";
    ++i;
  }
  fs::remove_all(dir);
}

TEST(Artifact, CudaArtifactBuildsWithoutAGpu) {
  if (std::string problem = cudaCompilationProblem(); !problem.empty())
    GTEST_SKIP() << problem;
  MlpStep m;
  fs::path dir = freshDir("cuda");
  m.jitted(Device::Cuda, "sm_90").save(dir.string(), m.params, m.state, m.x, m.y);
  std::ifstream manifest(dir / "manifest.json");
  std::string text((std::istreambuf_iterator<char>(manifest)), {});
  EXPECT_NE(text.find("\"device\": \"cuda\""), std::string::npos);
  // The kernels are embedded in the shared object: a fatbin (the sm_90
  // cubin, PTX as the fallback) where the toolkit has ptxas and fatbinary,
  // PTX for sm_90 otherwise.
  auto embedded = [&] {
    std::ifstream so(dir / "step.so", std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(so)), {});
  };
  const std::string fatbinMagic("\x50\xed\x55\xba", 4);
  std::string binary = embedded();
  EXPECT_TRUE(binary.find(fatbinMagic) != std::string::npos ||
              binary.find(".target sm_90") != std::string::npos);
  EXPECT_NE(binary.find("sm_90"), std::string::npos);
  if (!runtime::cuda::probeDevices().available) {
    try {
      runtime::Artifact::load(dir.string());
      FAIL() << "loading a CUDA artifact without a GPU must fail";
    } catch (const std::runtime_error &e) {
      EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos)
          << e.what();
    }
  }
  fs::remove_all(dir);
}

// Leaves the compiled code never reads take no bytes in values.bin
// ("stored": false) and start zeroed; the rest of the artifact is unchanged.
// Saving its state again keeps them unstored.
TEST(Artifact, UnreadLeavesAreNotStored) {
  fs::path dir = freshDir("unstored"), again = freshDir("unstored-again");
  Params p{{"unused", Tensor::fromVector(std::vector<float>(1000, 3.0f), {1000})},
           {"w", Tensor::fromVector(std::vector<float>{1, 2, 3, 4}, {4})}};
  Tensor x = Tensor::fromVector(std::vector<float>{0.5f, -1, 2, 8}, {4});
  auto f = jit([](const Params &q, const Tensor &xb) { return q.at("w") * xb; },
               JitOptions{{}, "unstored"});
  Tensor want = f(p, x);
  f.save(dir.string(), p, x);
  EXPECT_EQ(fs::file_size(dir / "values.bin"), 2 * 4 * sizeof(float)); // w, x
  std::unique_ptr<runtime::Artifact> artifact =
      runtime::Artifact::load(dir.string());
  ASSERT_EQ(artifact->inputs.size(), 3u);
  EXPECT_FALSE(artifact->inputs[0].stored);
  EXPECT_TRUE(artifact->inputs[1].stored && artifact->inputs[2].stored);
  const float *unused = static_cast<const float *>(artifact->input(0).data());
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(unused[i], 0.0f) << i;
  artifact->step();
  const float *got = static_cast<const float *>(artifact->output(0).data());
  std::vector<float> expected = want.toVector<float>();
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(got[i], expected[i]) << i;
  artifact->saveTo(again.string());
  EXPECT_EQ(fs::file_size(again / "values.bin"), 2 * 4 * sizeof(float));
  EXPECT_EQ(runtime::Artifact::load(again.string())->inputs.size(), 3u);
  fs::remove_all(dir);
  fs::remove_all(again);
}

// A layer on its CSR: sparse_matmul carries the dense W for its VJP only, so
// the inference's artifact stores the CSR and not W, and computes the same.
TEST(Artifact, DenseCopyOfACsrWeightIsNotStored) {
  // Under the GPU emulation (ctest's frontend.gpu-emulation) the GPU
  // pipeline refuses sparse tensors: CSR layers are CPU-only.
  if (const char *emulate = std::getenv("BREGMAN_EMULATE_GPU");
      emulate && std::string(emulate) == "1")
    GTEST_SKIP() << "no sparse lowering under the GPU emulation";
  fs::path dir = freshDir("csr");
  Tensor w = Tensor::fromVector(std::vector<float>{0, 2, 0, 0, 0, -1, 3, 0}, {2, 4});
  CsrWeight csr = compressRows(w);
  Params p{{"w", w},
           {"pos", csr.positions},
           {"crd", csr.coordinates},
           {"val", csr.values}};
  Tensor a = Tensor::fromVector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  auto f = jit(
      [](const Params &q, const Tensor &x) {
        CsrWeight c{q.at("pos"), q.at("crd"), q.at("val"), q.at("w"), 2, 4};
        return sparseMatmulLeft(c, x, /*transposeW=*/true); // Wᵀ·x [4, 3]
      },
      JitOptions{{}, "csr_infer"});
  std::vector<float> want = f(p, a).toVector<float>();
  f.save(dir.string(), p, a);
  std::unique_ptr<runtime::Artifact> artifact =
      runtime::Artifact::load(dir.string());
  ASSERT_EQ(artifact->inputs.size(), 5u);
  EXPECT_EQ(artifact->inputs[0].name, "w");
  EXPECT_FALSE(artifact->inputs[0].stored);
  for (size_t i = 1; i < 5; ++i)
    EXPECT_TRUE(artifact->inputs[i].stored) << artifact->inputs[i].name;
  artifact->step();
  const float *got = static_cast<const float *>(artifact->output(0).data());
  // Wᵀ·a by its definition, in float64.
  std::vector<float> wv = w.toVector<float>(), av = a.toVector<float>();
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 3; ++c) {
      double sum = 0;
      for (int k = 0; k < 2; ++k)
        sum += double(wv[k * 4 + r]) * double(av[k * 3 + c]);
      EXPECT_EQ(got[r * 3 + c], float(sum)) << r << "," << c;
      EXPECT_EQ(want[r * 3 + c], float(sum)) << r << "," << c;
    }
  fs::remove_all(dir);
}

TEST(Artifact, SaveLeavesOtherDirectoriesAlone) {
  MlpStep m;
  fs::path dir = freshDir("foreign");
  fs::create_directories(dir);
  std::ofstream(dir / "notes.txt") << "mine";
  try {
    m.jitted().save(dir.string(), m.params, m.state, m.x, m.y);
    FAIL() << "save must refuse a directory that is not an artifact";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("is not a bregman artifact"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::exists(dir / "notes.txt"));
  fs::remove_all(dir);
}

TEST(Artifact, AStepSoOfAnotherSaveIsRefused) {
  // Two saves of one step have the same signature; only the id tells their
  // step.so files apart (a swapped one used to run silently).
  MlpStep m;
  fs::path first = freshDir("first"), second = freshDir("second");
  m.jitted().save(first.string(), m.params, m.state, m.x, m.y);
  m.jitted().save(second.string(), m.params, m.state, m.x, m.y);
  EXPECT_NO_THROW(runtime::Artifact::load(first.string()));
  fs::copy_file(second / "step.so", first / "step.so",
                fs::copy_options::overwrite_existing);
  try {
    runtime::Artifact::load(first.string());
    FAIL() << "a step.so of another save must be refused";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "manifest.json: belongs to another step.so"),
              std::string::npos)
        << e.what();
  }
  fs::remove_all(first);
  fs::remove_all(second);
}

TEST(Artifact, DamagedArtifactsNameTheFile) {
  MlpStep m;
  fs::path dir = freshDir("damaged");
  m.jitted().save(dir.string(), m.params, m.state, m.x, m.y);
  fs::resize_file(dir / "values.bin", 100);
  try {
    runtime::Artifact::load(dir.string());
    FAIL();
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("values.bin: truncated"),
              std::string::npos)
        << e.what();
  }
  std::ofstream(dir / "manifest.json") << "{\"format\": \"bregman-step/1\"";
  try {
    runtime::Artifact::load(dir.string());
    FAIL();
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("manifest.json: malformed manifest"),
              std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

} // namespace
