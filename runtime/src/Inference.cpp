//===- Inference.cpp - Inference artifacts, run by the runtime alone ------===//

#include "bregman/runtime/Inference.h"
#include "CommandBoundary.h"
#include "bregman/runtime/InputFile.h"
#include "bregman/runtime/TensorProto.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>
#include <stdexcept>

namespace bregman::runtime {

namespace {

[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw std::runtime_error(where + ": " + printableText(what));
}

/// The entries of `list` ("inputs" or "outputs"), each naming an artifact
/// tensor by its index under `indexKey` with the same name, dtype, shape.
std::vector<InferenceBinding>
readBindings(const nlohmann::json &list, const char *kind, const char *indexKey,
             const std::vector<ArtifactTensor> &tensors,
             const std::string &where) {
  std::vector<InferenceBinding> bindings;
  std::set<std::size_t> seen;
  for (const nlohmann::json &j : list) {
    InferenceBinding b{j.at("name").get<std::string>(),
                       j.at(indexKey).get<std::size_t>(),
                       j.at("dtype").get<std::string>(),
                       j.at("shape").get<std::vector<int64_t>>()};
    std::string entry = std::string("inference ") + kind + " '" + b.name + "'";
    if (b.index >= tensors.size())
      fail(where, entry + ": " + indexKey + " " + std::to_string(b.index) +
                      " is out of range (the artifact has " +
                      std::to_string(tensors.size()) + " " + kind + ")");
    const ArtifactTensor &t = tensors[b.index];
    if (t.name != b.name || b.dtype != t.dtype || b.shape != t.shape)
      fail(where, entry + " is not the artifact's " + kind + "[" +
                      std::to_string(b.index) + "] ('" + t.name + "' " +
                      t.dtype + shapeText(t.shape) + ")");
    if (!seen.insert(b.index).second)
      fail(where, entry + ": " + kind + "[" + std::to_string(b.index) +
                      "] is bound twice");
    bindings.push_back(std::move(b));
  }
  return bindings;
}

/// The artifact input `b` set from the TensorProto file `path`.
void feedInput(Artifact &artifact, const InferenceSpec &spec, size_t position,
               const std::string &path) {
  const InferenceBinding &b = spec.inputs[position];
  HostTensor t = readTensorProtoFile(path);
  std::vector<std::string> names;
  for (const InferenceBinding &input : spec.inputs)
    names.push_back(input.name);
  if (std::string problem = swappedInputProblem(path, t.name, position, names);
      !problem.empty())
    throw std::runtime_error(printableText(problem));
  const ArtifactTensor &want = artifact.inputs[b.index];
  if (t.dtype != want.dtype || t.shape != want.shape)
    fail(path, "input '" + b.name + "' is " + t.dtype + shapeText(t.shape) +
                   ", the artifact takes " + want.dtype +
                   shapeText(want.shape) +
                   " (the shapes of the example input it was saved with)");
  std::memcpy(artifact.mutableInput(b.index).data(), t.bytes.data(),
              want.bytes);
}

void printSparseLayers(const InferenceSpec &spec) {
  for (const InferenceSparseLayer &layer : spec.sparseLayers)
    std::printf("sparse layer %s: weight '%s', density %.4g\n",
                layer.node.c_str(), layer.weight.c_str(), layer.density);
  if (spec.sparseExec != "off")
    std::printf("sparse execution: %zu layer(s) on their CSR\n",
                spec.sparseLayers.size());
}

void runInference(const std::string &dir,
                  const std::vector<std::string> &inputFiles,
                  const std::vector<std::string> &outputFiles) {
  std::unique_ptr<Artifact> artifact = Artifact::load(dir);
  std::string manifest = dir + "/manifest.json";
  if (artifact->inference.empty())
    fail(manifest,
         "a compiled step, not an inference artifact: --input and --output are "
         "for artifacts saved by `bregman run MODEL --save-artifact`");
  InferenceSpec spec = parseInferenceEntry(
      artifact->inference, artifact->inputs, artifact->outputs, manifest);
  std::string names;
  for (const InferenceBinding &b : spec.inputs)
    names += (names.empty() ? "'" : ", '") + b.name + "'";
  if (inputFiles.size() != spec.inputs.size())
    fail(dir, "the model has " + std::to_string(spec.inputs.size()) +
                  " input(s) (" + names + "), " +
                  std::to_string(inputFiles.size()) + " --input file(s) given");
  if (outputFiles.size() > spec.outputs.size())
    fail(dir, "the model has " + std::to_string(spec.outputs.size()) +
                  " output(s), " + std::to_string(outputFiles.size()) +
                  " --output file(s) given");
  // Before running: each output can be written, replacing only a tensor
  // file bregman wrote (never an input, the model or the user's files).
  requireDistinctFiles(outputFiles, "--output");
  for (const std::string &file : outputFiles)
    requireWritableFile(file, "--output", tensorFilesWrittenByBregman());
  for (std::size_t i = 0; i < inputFiles.size(); ++i)
    feedInput(*artifact, spec, i, inputFiles[i]);
  std::printf("%s: inference of %s on %s\n", dir.c_str(), spec.model.c_str(),
              artifact->device.c_str());
  if (!spec.preprocessing.empty())
    std::printf("inputs: %s\n", spec.preprocessing.c_str());
  printSparseLayers(spec);
  artifact->step();
  artifact->synchronize();
  for (std::size_t i = 0; i < spec.outputs.size(); ++i) {
    const ArtifactTensor &t = artifact->outputs[spec.outputs[i].index];
    std::printf("output %s %s%s\n", spec.outputs[i].name.c_str(),
                t.dtype.c_str(), shapeText(t.shape).c_str());
    if (i >= outputFiles.size())
      continue;
    const char *data = static_cast<const char *>(
        artifact->output(spec.outputs[i].index).data());
    writeTensorProtoFile(outputFiles[i],
                         HostTensor{spec.outputs[i].name, t.dtype, t.shape,
                                    std::vector<char>(data, data + t.bytes),
                                    ""});
  }
}

} // namespace

InferenceSpec parseInferenceEntry(const std::string &json,
                                  const std::vector<ArtifactTensor> &inputs,
                                  const std::vector<ArtifactTensor> &outputs,
                                  const std::string &where) {
  InferenceSpec spec;
  try {
    nlohmann::json entry = nlohmann::json::parse(json);
    if (!entry.is_object())
      fail(where, "malformed \"inference\" entry: not a JSON object");
    spec.model = entry.at("model").get<std::string>();
    spec.sparseExec = entry.at("sparse_exec").get<std::string>();
    spec.preprocessing = entry.value("preprocessing", std::string());
    for (const nlohmann::json &j : entry.at("sparse_layers"))
      spec.sparseLayers.push_back({j.at("node").get<std::string>(),
                                   j.at("weight").get<std::string>(),
                                   j.at("density").get<double>()});
    spec.inputs =
        readBindings(entry.at("inputs"), "inputs", "input", inputs, where);
    spec.outputs =
        readBindings(entry.at("outputs"), "outputs", "output", outputs, where);
  } catch (const nlohmann::json::exception &e) {
    fail(where, std::string("malformed \"inference\" entry: ") + e.what());
  }
  return spec;
}

std::string inferenceEntryJson(const InferenceSpec &spec) {
  nlohmann::json entry = {{"model", spec.model},
                          {"sparse_exec", spec.sparseExec},
                          {"sparse_layers", nlohmann::json::array()},
                          {"inputs", nlohmann::json::array()},
                          {"outputs", nlohmann::json::array()}};
  if (!spec.preprocessing.empty())
    entry["preprocessing"] = spec.preprocessing;
  for (const InferenceSparseLayer &layer : spec.sparseLayers)
    entry["sparse_layers"].push_back({{"node", layer.node},
                                      {"weight", layer.weight},
                                      {"density", layer.density}});
  for (const auto &[list, indexKey] :
       {std::pair{&spec.inputs, "input"}, std::pair{&spec.outputs, "output"}})
    for (const InferenceBinding &b : *list)
      entry[std::string(indexKey) + "s"].push_back({{"name", b.name},
                                                    {indexKey, b.index},
                                                    {"dtype", b.dtype},
                                                    {"shape", b.shape}});
  return entry.dump();
}

int runInferenceCommand(const std::string &dir,
                        const std::vector<std::string> &inputFiles,
                        const std::vector<std::string> &outputFiles) {
  return exitStatusOf([&] { runInference(dir, inputFiles, outputFiles); });
}

} // namespace bregman::runtime
