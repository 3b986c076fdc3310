//===- CudnnSetupTest.cpp - Finding cuDNN 9, its version and sub-libraries ===//
//
// openCudnn (runtime/src/cuda/CudnnLibraries.h) against the stand-in cuDNN,
// built as cuDNN 9 is laid out (lib/cudnn/libcudnn.so.9 with its
// sub-libraries and cuBLASLt beside it): folders made here with links to
// some of those files show that a missing sub-library is named with the
// folder searched and what to set, and cudnnGetVersion's answer
// (BREGMAN_MOCK_CUDNN_VERSION in the mock) is checked.
//
//===----------------------------------------------------------------------===//

#include "CudnnLibraries.h"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>

using namespace bregman::runtime::cuda;
namespace fs = std::filesystem;

namespace {

/// A fresh folder holding links named `names` to the mock cuDNN (in the
/// sub-folder `under`, made here).
class CudnnFolder {
public:
  explicit CudnnFolder(const std::vector<std::string> &names,
                       const std::string &under = "") {
    std::string pattern =
        (fs::temp_directory_path() / "bregman-cudnn-XXXXXX").string();
    root = mkdtemp(pattern.data());
    path = under.empty() ? root : root / under;
    fs::create_directories(path);
    for (const std::string &name : names)
      fs::create_symlink(BREGMAN_MOCK_CUDNN, path / name);
  }
  ~CudnnFolder() { fs::remove_all(root); }
  std::string library() const { return (path / "libcudnn.so.9").string(); }
  fs::path root, path;
};

std::vector<std::string> allBut(const std::string &missing) {
  std::vector<std::string> names = {"libcudnn.so.9", "libcublasLt.so.13"};
  for (const std::string &name : cudnnSubLibraries())
    if (name != missing)
      names.push_back(name);
  return names;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

TEST(CudnnSetup, VersionTextReadsBothEncodings) {
  EXPECT_EQ(cudnnVersionText(91900), "9.19.0");
  EXPECT_EQ(cudnnVersionText(90002), "9.0.2");
  EXPECT_EQ(cudnnVersionText(8907), "8.9.7");
  EXPECT_EQ(cudnnVersionText(100100), "10.1.0");
  EXPECT_EQ(cudnnMajor(91900), 9);
  EXPECT_EQ(cudnnMajor(8907), 8);
}

TEST(CudnnSetup, OpensTheBuildsLayout) {
  CudnnLibraries found = openCudnn(BREGMAN_MOCK_CUDNN);
  EXPECT_EQ(found.failure, "");
  EXPECT_NE(found.main, nullptr);
  EXPECT_EQ(found.version, "9.19.0");
  EXPECT_EQ(found.cudaMajor, 13);
  EXPECT_EQ(found.folder, fs::path(BREGMAN_MOCK_CUDNN).parent_path().string());
}

TEST(CudnnSetup, MissingSubLibraryIsNamedWithTheFolder) {
  for (const std::string &missing :
       {std::string("libcudnn_cnn.so.9"), std::string("libcudnn_graph.so.9"),
        std::string("libcudnn_engines_precompiled.so.9")}) {
    CudnnFolder folder(allBut(missing));
    CudnnLibraries found = openCudnn(folder.library().c_str());
    EXPECT_EQ(found.main, nullptr) << missing;
    EXPECT_TRUE(contains(found.failure, "cuDNN 9.19.0 (" + folder.library() +
                                            ") lacks " + missing))
        << found.failure;
    EXPECT_TRUE(contains(found.failure, "looked in " + folder.path.string()))
        << found.failure;
    EXPECT_TRUE(contains(found.failure, "LD_LIBRARY_PATH")) << found.failure;
    EXPECT_TRUE(contains(found.failure, "BREGMAN_CUDNN")) << found.failure;
  }
}

TEST(CudnnSetup, CompleteFolderOpens) {
  CudnnFolder folder(allBut(""));
  CudnnLibraries found = openCudnn(folder.library().c_str());
  EXPECT_EQ(found.failure, "");
  EXPECT_NE(found.main, nullptr);
  EXPECT_EQ(found.folder, folder.path.string());
  EXPECT_EQ(found.cublasLt, folder.path.string() + "/libcublasLt.so.13");
}

// The python wheels' layout: site-packages/nvidia/cudnn/lib beside
// nvidia/cublas/lib, which holds cuBLASLt.
TEST(CudnnSetup, FindsCublasLtInTheWheelsLayout) {
  std::vector<std::string> names = allBut("");
  names.erase(names.begin() + 1); // libcublasLt.so.13
  CudnnFolder folder(names, "nvidia/cudnn/lib");
  fs::create_directories(folder.root / "nvidia/cublas/lib");
  fs::create_symlink(BREGMAN_MOCK_CUDNN,
                     folder.root / "nvidia/cublas/lib/libcublasLt.so.13");
  CudnnLibraries found = openCudnn(folder.library().c_str());
  EXPECT_EQ(found.failure, "");
  EXPECT_NE(found.main, nullptr);
  EXPECT_EQ(found.cublasLt, folder.path.string() +
                                "/../../cublas/lib/libcublasLt.so.13");
}

TEST(CudnnSetup, OtherMajorVersionsAreRefused) {
  for (const char *version : {"8907", "100100"}) {
    setenv("BREGMAN_MOCK_CUDNN_VERSION", version, 1);
    CudnnLibraries found = openCudnn(BREGMAN_MOCK_CUDNN);
    unsetenv("BREGMAN_MOCK_CUDNN_VERSION");
    EXPECT_EQ(found.main, nullptr);
    std::string text = cudnnVersionText(std::strtoul(version, nullptr, 10));
    EXPECT_TRUE(contains(found.failure, "cuDNN " + text + " found (" +
                                            std::string(BREGMAN_MOCK_CUDNN) +
                                            "), but bregman needs cuDNN 9"))
        << found.failure;
  }
}

TEST(CudnnSetup, MissingLibraryNamesWhatToSet) {
  CudnnLibraries found = openCudnn("/nonexistent/libcudnn.so.9");
  EXPECT_EQ(found.main, nullptr);
  EXPECT_TRUE(contains(found.failure,
                       "cuDNN not found (dlopen /nonexistent/libcudnn.so.9"))
      << found.failure;
  EXPECT_TRUE(contains(found.failure, "BREGMAN_CUDNN")) << found.failure;
}

} // namespace
