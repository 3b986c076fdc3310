//===- CudnnLibraries.cpp - Finding cuDNN 9 and what it loads by name -----===//

#include "CudnnLibraries.h"

#include <dlfcn.h>
#include <unistd.h>

namespace bregman::runtime::cuda {

namespace {

constexpr const char *kWhereToPut =
    "put the folder holding all of cuDNN 9's libraries (libcudnn*.so.9) on "
    "LD_LIBRARY_PATH, or name its libcudnn.so.9 in BREGMAN_CUDNN (the others "
    "are looked for beside it)";

std::string dlerrorText() {
  const char *e = dlerror();
  return e ? e : "unknown dlopen error";
}

std::string parentOf(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// The folder of the file `lib` was loaded from (for a library found by the
/// loader's search).
std::string loadedFolder(void *lib) {
  char origin[4096] = {};
  if (dlinfo(lib, RTLD_DI_ORIGIN, origin) == 0 && origin[0])
    return origin;
  return ".";
}

std::string joinList(const std::vector<std::string> &items) {
  std::string text;
  for (const std::string &item : items)
    text += (text.empty() ? "" : ", ") + item;
  return text;
}

void *openMain(const char *path, CudnnLibraries &found) {
  std::vector<std::string> names = {"libcudnn.so.9", "libcudnn.so"};
  if (path)
    names = {path};
  std::string errors;
  for (const std::string &name : names) {
    if (void *lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      found.folder = path ? parentOf(name) : loadedFolder(lib);
      return lib;
    }
    errors += (errors.empty() ? "" : "; ") + dlerrorText();
  }
  found.failure = "cuDNN not found (dlopen " + joinList(names) + ": " + errors +
                  "): install cuDNN 9 (the toolkit's or the nvidia-cudnn "
                  "python wheel) and " + kWhereToPut;
  return nullptr;
}

/// Checks cudnnGetVersion() against the ABI this runtime declares.
bool checkVersion(void *lib, const std::string &file, CudnnLibraries &found) {
  auto getVersion = reinterpret_cast<size_t (*)()>(dlsym(lib, "cudnnGetVersion"));
  if (!getVersion) {
    found.failure = file + " has no cudnnGetVersion: not cuDNN; " + kWhereToPut;
    return false;
  }
  size_t version = getVersion();
  found.version = cudnnVersionText(version);
  if (cudnnMajor(version) != kCudnnMajor) {
    found.failure = "cuDNN " + found.version + " found (" + file +
                    "), but bregman needs cuDNN " +
                    std::to_string(kCudnnMajor) + " (it was built for " +
                    std::to_string(kCudnnMajor) +
                    ".x's ABI): install cuDNN 9 and " + kWhereToPut;
    return false;
  }
  auto cudart =
      reinterpret_cast<size_t (*)()>(dlsym(lib, "cudnnGetCudartVersion"));
  found.cudaMajor = cudart ? static_cast<int>(cudart() / 1000) : 0;
  return true;
}

/// Opens each sub-library from the main library's folder.
bool openSubLibraries(const std::string &file, CudnnLibraries &found) {
  for (const std::string &name : cudnnSubLibraries()) {
    std::string path = found.folder + "/" + name;
    if (access(path.c_str(), F_OK) != 0) {
      found.failure = "cuDNN " + found.version + " (" + file + ") lacks " +
                      name + ", which it loads its convolutions from (looked in " +
                      found.folder + "): " + kWhereToPut;
      return false;
    }
    if (!dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      found.failure = "cuDNN's " + path + " does not load: " + dlerrorText();
      return false;
    }
  }
  return true;
}

/// cuBLASLt for the CUDA cuDNN was built for: beside cuDNN, in the wheels'
/// sibling folders, then on the loader's path.
bool openCublasLt(CudnnLibraries &found) {
  std::vector<int> majors = {found.cudaMajor};
  if (found.cudaMajor == 0)
    majors = {13, 12};
  std::vector<std::string> looked;
  for (int major : majors) {
    std::string name = "libcublasLt.so." + std::to_string(major);
    std::string wheels = found.folder + "/../..";
    for (const std::string &folder :
         {found.folder, wheels + "/cublas/lib",
          wheels + "/cu" + std::to_string(major) + "/lib"}) {
      std::string path = folder + "/" + name;
      looked.push_back(path);
      if (access(path.c_str(), F_OK) == 0) {
        found.cublasLt = path;
        if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL))
          return true;
        found.failure = "cuDNN's cuBLASLt " + path +
                        " does not load: " + dlerrorText();
        return false;
      }
    }
    if (dlopen(name.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      found.cublasLt = name;
      return true;
    }
    looked.push_back(name + " on the loader's path");
  }
  std::string cuda = found.cudaMajor ? " " + std::to_string(found.cudaMajor)
                                     : "";
  found.failure = "cuDNN " + found.version + " needs cuBLASLt (looked for " +
                  joinList(looked) + "): install cuBLAS for CUDA" + cuda +
                  " (the toolkit's or the nvidia-cublas python wheel) and put "
                  "its folder on LD_LIBRARY_PATH";
  return false;
}

} // namespace

const std::vector<std::string> &cudnnSubLibraries() {
  static const std::vector<std::string> names = {
      "libcudnn_graph.so.9",
      "libcudnn_ops.so.9",
      "libcudnn_cnn.so.9",
      "libcudnn_heuristic.so.9",
      "libcudnn_engines_precompiled.so.9",
      "libcudnn_engines_runtime_compiled.so.9"};
  return names;
}

int cudnnMajor(size_t version) {
  return static_cast<int>(version >= 10000 ? version / 10000 : version / 1000);
}

std::string cudnnVersionText(size_t version) {
  bool nine = version >= 10000; // cuDNN 9 changed the encoding
  size_t major = cudnnMajor(version);
  size_t rest = version - major * (nine ? 10000 : 1000);
  return std::to_string(major) + "." + std::to_string(rest / 100) + "." +
         std::to_string(rest % 100);
}

CudnnLibraries openCudnn(const char *path) {
  CudnnLibraries found;
  void *lib = openMain(path, found);
  if (!lib)
    return found;
  std::string file = path ? path : found.folder + "/libcudnn.so.9";
  if (checkVersion(lib, file, found) && openCublasLt(found) &&
      openSubLibraries(file, found))
    found.main = lib;
  return found;
}

} // namespace bregman::runtime::cuda
