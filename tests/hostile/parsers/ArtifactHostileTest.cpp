//===- ArtifactHostileTest.cpp - Hostile artifact manifests and values ---===//

#include "HostileSupport.h"

#include "bregman/runtime/Artifact.h"

#include <stdexcept>

using namespace bregman::runtime;
using namespace bregman::hostile;

namespace {

using HostileArtifact = Scratch;

std::string manifest(const std::string &inputs) {
  return R"({"format":"bregman-step/1","name":"s","device":"cpu","function":"_mlir_f","inputs":)" +
         inputs + "}";
}

TEST_F(HostileArtifact, Manifests) {
  struct Case {
    const char *name;
    std::string text;
    const char *message;
  };
  std::vector<Case> cases = {
      {"not JSON", "{", "manifest.json: malformed manifest"},
      {"array", "[]", "manifest.json: malformed manifest: not a JSON object"},
      {"wrong type", manifest(R"([{"name":3,"dtype":"f32","shape":[1],"bytes":4}])"),
       "manifest.json: malformed manifest"},
      {"overflowing shape",
       manifest(R"([{"name":"w","dtype":"f32","shape":[4294967296,4294967296],"bytes":0}])"),
       "manifest.json: 'w': 0 bytes do not match its shape and dtype"},
      {"negative dimension", manifest(R"([{"name":"w","dtype":"f32","shape":[-1],"bytes":4}])"),
       "negative dimension in 'w'"},
      {"unknown dtype", manifest(R"([{"name":"w","dtype":"q7","shape":[1],"bytes":4}])"),
       "unknown dtype 'q7'"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THROWS_WITH(std::runtime_error, parseArtifactManifest(c.text, "manifest.json"),
                       c.message);
  }
  ArtifactManifest m = parseArtifactManifest(
      manifest(R"([{"name":"w","dtype":"f32","shape":[2],"bytes":8,"offset":18446744073709551615}])"),
      "manifest.json");
  EXPECT_THROWS_WITH(std::runtime_error, checkArtifactValues(m.inputs, 64, "values.bin"),
                     "values.bin: truncated: 'w' needs bytes 18446744073709551615..");
}

TEST_F(HostileArtifact, FifosAreRefused) {
  write("manifest.json", manifest(R"([{"name":"w","dtype":"f32","shape":[2],"bytes":8}])"));
  fifo("values.bin");
  EXPECT_THROWS_WITH(std::runtime_error, Artifact::load(dir.string()),
                     "the artifact values must be a regular file, but this is a FIFO");
  fs::remove(dir / "manifest.json");
  fifo("manifest.json");
  EXPECT_THROWS_WITH(std::runtime_error, Artifact::load(dir.string()),
                     "the artifact manifest must be a regular file, but this is a FIFO");
}

} // namespace
