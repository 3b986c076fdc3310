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
      {"wrong type",
       manifest(R"([{"name":3,"dtype":"f32","shape":[1],"bytes":4}])"),
       "manifest.json: malformed manifest"},
      {"overflowing shape",
       manifest(
           R"([{"name":"w","dtype":"f32","shape":[4294967296,4294967296],"bytes":0}])"),
       "manifest.json: 'w': 0 bytes do not match its shape and dtype"},
      {"negative dimension",
       manifest(R"([{"name":"w","dtype":"f32","shape":[-1],"bytes":4}])"),
       "negative dimension in 'w'"},
      // A NUL in a name ended the message there.
      {"NUL in a name",
       manifest(
           R"([{"name":"w\u0000x","dtype":"f32","shape":[-1],"bytes":4}])"),
       "negative dimension in 'w\\x00x'"},
      {"unknown dtype",
       manifest(R"([{"name":"w","dtype":"q7","shape":[1],"bytes":4}])"),
       "unknown dtype 'q7'"},
      // Negative counts were taken as size_t (printed as 18446744073709551611).
      {"negative offset",
       manifest(
           R"([{"name":"w","dtype":"f32","shape":[1],"bytes":4,"offset":-5}])"),
       "manifest.json: 'w': \"offset\" is -5, not a count of bytes"},
      {"negative bytes",
       manifest(R"([{"name":"w","dtype":"f32","shape":[1],"bytes":-4}])"),
       "manifest.json: 'w': \"bytes\" is -4, not a count of bytes"},
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

// An input marked "stored": false has no bytes in values.bin (the runner
// zeroes it), so no offset is checked; carrying state through one is refused.
TEST_F(HostileArtifact, UnstoredInputs) {
  ArtifactManifest m = parseArtifactManifest(
      manifest(
          R"([{"name":"w","dtype":"f32","shape":[1024],"bytes":4096,"stored":false},
                   {"name":"x","dtype":"f32","shape":[2],"bytes":8,"offset":0}])"),
      "manifest.json");
  EXPECT_FALSE(m.inputs[0].stored);
  EXPECT_TRUE(m.inputs[1].stored);
  EXPECT_NO_THROW(checkArtifactValues(m.inputs, 8, "values.bin"));
  std::string aliased =
      R"({"format":"bregman-step/1","name":"s","device":"cpu","function":"_mlir_f",)"
      R"("inputs":[{"name":"w","dtype":"f32","shape":[2],"bytes":8,"stored":false}],)"
      R"("outputs":[{"name":"w2","dtype":"f32","shape":[2],"bytes":8,"alias":0}]})";
  EXPECT_THROWS_WITH(
      std::runtime_error, parseArtifactManifest(aliased, "manifest.json"),
      "manifest.json: output 'w2' overwrites input 'w', which is not stored");
}

// The "inference" entry (Inference.h) must fit the inputs and outputs.
TEST_F(HostileArtifact, InferenceEntries) {
  auto withEntry = [](const std::string &entry) {
    return R"({"format":"bregman-step/1","name":"s","device":"cpu","function":"_mlir_f",)"
           R"("inputs":[{"name":"x","dtype":"f32","shape":[4,3],"bytes":48}],)"
           R"("outputs":[{"name":"y","dtype":"f32","shape":[4,2],"bytes":32}],"inference":)" +
           entry + "}";
  };
  std::string good =
      R"({"model":"m.onnx","sparse_exec":"off","sparse_layers":[],)"
      R"("inputs":[{"name":"x","input":0,"dtype":"f32","shape":[4,3]}],)"
      R"("outputs":[{"name":"y","output":0,"dtype":"f32","shape":[4,2]}]})";
  EXPECT_FALSE(parseArtifactManifest(withEntry(good), "manifest.json")
                   .inference.empty());
  struct Case {
    const char *name;
    std::string entry;
    const char *message;
  };
  std::vector<Case> cases = {
      {"string", R"("x")",
       "manifest.json: malformed \"inference\" entry: not a JSON object"},
      {"no inputs",
       R"({"model":"m","sparse_exec":"off","sparse_layers":[],"outputs":[]})",
       "manifest.json: malformed \"inference\" entry"},
      {"output out of range",
       R"({"model":"m","sparse_exec":"off","sparse_layers":[],"inputs":[],)"
       R"("outputs":[{"name":"y","output":1,"dtype":"f32","shape":[4,2]}]})",
       "manifest.json: inference outputs 'y': output 1 is out of range (the "
       "artifact has 1 "
       "outputs)"},
      {"wrong dtype",
       R"({"model":"m","sparse_exec":"off","sparse_layers":[],)"
       R"("inputs":[{"name":"x","input":0,"dtype":"i32","shape":[4,3]}],"outputs":[]})",
       "manifest.json: inference inputs 'x' is not the artifact's inputs[0] "
       "('x' f32[4, 3])"},
      {"bound twice",
       R"({"model":"m","sparse_exec":"off","sparse_layers":[],"outputs":[],"inputs":[)"
       R"({"name":"x","input":0,"dtype":"f32","shape":[4,3]},)"
       R"({"name":"x","input":0,"dtype":"f32","shape":[4,3]}]})",
       "manifest.json: inference inputs 'x': inputs[0] is bound twice"},
      {"sparse layer without density",
       R"({"model":"m","sparse_exec":"on","sparse_layers":[{"node":"n","weight":"w"}],)"
       R"("inputs":[],"outputs":[]})",
       "manifest.json: malformed \"inference\" entry"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THROWS_WITH(
        std::runtime_error,
        parseArtifactManifest(withEntry(c.entry), "manifest.json"), c.message);
  }
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

// The training entry bregman-run --train reads, field by field against the
// artifact (an index past the end said vector::_M_range_check, a negative
// one was read as size_t, the weights taken as the loss trained with loss 0).
TEST_F(HostileArtifact, TrainingEntries) {
  std::vector<ArtifactTensor> inputs = {{"x", "f32", {2, 4}, 32},
                                        {"y", "i32", {2}, 8}};
  std::vector<ArtifactTensor> outputs = {{"w", "f32", {4, 3}, 48},
                                         {"loss", "f32", {}, 4}};
  auto entry = [](const std::string &fields) {
    return R"({"dataset":"mnist","data_dir":"d","mean":0,"std":1,"seed":0,)"
           R"("val_fraction":0.1,"train_limit":-1,"batch_size":2,)" +
           fields + "}";
  };
  const std::string indices = R"("x_input":0,"y_input":1,"correct_output":1)";
  TrainingSpec good = parseTrainingEntry(entry(indices + R"(,"loss_output":1)"),
                                         inputs, outputs, "m.json");
  EXPECT_EQ(good.lossOutput, 1u);
  EXPECT_EQ(good.batch, 2);
  struct Case {
    std::string text;
    const char *message;
  };
  const std::vector<Case> cases = {
      {"[1]", "m.json: \"training\": not a JSON object"},
      {entry(indices), "m.json: \"training\".loss_output: missing"},
      {entry(indices + R"(,"loss_output":"1")"),
       "m.json: \"training\".loss_output: \"1\" is of the wrong type"},
      {entry(indices + R"(,"loss_output":-1)"),
       "m.json: \"training\".loss_output: -1 is not one of the 2 outputs"},
      {entry(indices + R"(,"loss_output":7)"),
       "m.json: \"training\".loss_output: 7 is not one of the 2 outputs"},
      {entry(indices + R"(,"loss_output":0)"),
       "m.json: \"training\".loss_output: output 0 ('w') is f32[4, 3], not a "
       "scalar"},
      {entry(R"("x_input":2,"y_input":1,"correct_output":1,"loss_output":1)"),
       "m.json: \"training\".x_input: 2 is not one of the 2 inputs"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_THROWS_WITH(std::runtime_error,
                       parseTrainingEntry(c.text, inputs, outputs, "m.json"),
                       c.message);
  }
}
