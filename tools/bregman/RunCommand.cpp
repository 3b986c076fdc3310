//===- RunCommand.cpp - `bregman run`: an ONNX model or an artifact -------===//

#include "Commands.h"

#include "bregman/bregman.h"
#include "bregman/onnx/OnnxModel.h"
#include "bregman/runtime/Artifact.h"
#include "bregman/runtime/CudaMath.h"
#include "bregman/runtime/Inference.h"
#include "bregman/runtime/InputFile.h"
#include "bregman/runtime/TensorProto.h"

#include <filesystem>
#include <fmt/format.h>
#include <iostream>

namespace bregman::tools {

RunCommand::RunCommand(CLI::App &app) {
  command = app.add_subcommand(
      "run", "Run an ONNX model (compiled inference) on input tensors stored "
             "as ONNX TensorProto files, one per graph input in order; or an "
             "artifact directory as bregman-run does: an inference artifact "
             "(--save-artifact) on --input files, a compiled step "
             "(--save-step) for --steps calls");
  command->add_option("model", model, "The .onnx file or artifact directory")
      ->required()
      ->check(CLI::ExistingPath);
  command->add_option("--input", inputs,
                      "TensorProto file of each input (ONNX model, inference "
                      "artifact)");
  command->add_option("--steps", steps, "Calls to run (artifact)")
      ->check(kPositive);
  command->add_option("--output", outputs,
                      "Write each output as a TensorProto file here");
  command
      ->add_option("--sparse-exec", sparseExec,
                   "Gemm and MatMul on a 2-D weight initializer run on its "
                   "CSR (MLIR's sparsifier, CPU), and Conv of one group on "
                   "the CSR of its filter: off, auto (density below the "
                   "crossover of the weight's shape (at the input's batch; "
                   "a filter's: at its Conv's strides and padding), "
                   "measured on this machine at first use and cached), on "
                   "(ONNX)")
      ->check(CLI::IsMember({"off", "auto", "on"}))
      ->capture_default_str();
  command->add_option(
      "--save-artifact", saveArtifact,
      "Also save the compiled inference as an artifact directory here, "
      "which bregman-run DIR --input runs without MLIR or LLVM: the weights, "
      "the CSR of the layers chosen sparse, the constants and these inputs "
      "(its shapes are theirs). Replaces only an earlier artifact (ONNX)");
  command->add_flag("--tf32", tf32, runtime::kTf32Help);
}

namespace {

nn::SparseExec sparseExecPolicy(const std::string &flag) {
  return flag == "on" ? nn::SparseExec::On
         : flag == "auto" ? nn::SparseExec::Auto
                          : nn::SparseExec::Off;
}

/// The manifest's "inference" entry (runtime/Inference.h): the graph's
/// inputs and outputs by their position among the artifact's, which are
/// the leaves of (weights, constants, feeds) and of the results in order.
runtime::InferenceSpec
inferenceSpec(const std::string &model, const std::string &sparseExec,
              const std::vector<onnx::SparseLayer> &sparseLayers,
              size_t feedsFrom, const Params &feeds, const Params &results) {
  runtime::InferenceSpec spec{model, sparseExec, "", {}, {}, {}};
  for (const onnx::SparseLayer &layer : sparseLayers)
    spec.sparseLayers.push_back({layer.node, layer.initializer, layer.density});
  for (auto [params, index, bindings] :
       {std::tuple{&feeds, feedsFrom, &spec.inputs},
        std::tuple{&results, size_t{0}, &spec.outputs}})
    for (const auto &[name, t] : *params)
      bindings->push_back({name, index++, dtypeName(t.dtype()), t.shape()});
  return spec;
}

/// A --save-artifact directory that is not ours is refused before the
/// compilation, not after it (Jitted::save checks again when it writes).
void refuseForeignDirectory(const std::string &dir) {
  std::error_code ec;
  if (!dir.empty() && std::filesystem::is_directory(dir, ec) &&
      !std::filesystem::is_empty(dir, ec))
    if (std::string why = runtime::artifactOwnership(dir); !why.empty())
      throw Error(
          fmt::format("--save-artifact {}: {}; nothing was changed", dir, why));
}

} // namespace

int RunCommand::run() {
  if (tf32)
    runtime::setCudaTf32(true);
  if (std::string why = ignoredOption(); !why.empty()) {
    std::cerr << "error: run " << model << ": " << why << "\n";
    return 2;
  }
  if (std::filesystem::is_directory(model))
    return runDirectory();
  // A model without inputs (constants only) runs without --input; the
  // count of --input files is checked against the model's inputs.
  return runOnnx();
}

/// An option this run would not use: said, not silently ignored.
std::string RunCommand::ignoredOption() const {
  bool artifact = std::filesystem::is_directory(model);
  if (artifact && command->count("--sparse-exec"))
    return "--sparse-exec applies to an ONNX model; an artifact's sparse "
           "layers were chosen when it was saved (its manifest lists them)";
  if (!artifact && command->count("--steps"))
    return "--steps times an artifact's calls; an ONNX model runs once on "
           "its --input files";
  if (artifact && command->count("--steps") && !inputs.empty())
    return "--steps times calls on the artifact's stored example input; "
           "with --input it runs once on yours";
  return "";
}

int RunCommand::runDirectory() {
  if (!saveArtifact.empty()) {
    std::cerr << "error: run " << model << ": --save-artifact saves an ONNX "
              << "model's inference; this is an artifact already\n";
    return 2;
  }
  if (!inputs.empty() || !outputs.empty())
    return runtime::runInferenceCommand(model, inputs, outputs);
  return runtime::runArtifactCommand(model, steps, /*quiet=*/false);
}

int RunCommand::runOnnx() {
  refuseForeignDirectory(saveArtifact);
  onnx::OnnxModel onnxModel = onnx::OnnxModel::load(model);
  onnxModel.checkSupported(); // its reason, before counting its inputs
  if (inputs.size() != onnxModel.inputs().size())
    throw Error(fmt::format("{} has {} inputs, {} --input files given", model,
                            onnxModel.inputs().size(), inputs.size()));
  if (outputs.size() > onnxModel.outputs().size())
    throw Error(fmt::format("{} has {} outputs, {} --output files given", model,
                            onnxModel.outputs().size(), outputs.size()));
  // Before running: each output can be written, replacing only a tensor
  // file bregman wrote (never an input, the model or the user's files).
  try {
    runtime::requireDistinctFiles(outputs, "--output");
    for (const std::string &file : outputs)
      runtime::requireWritableFile(file, "--output",
                                   runtime::tensorFilesWrittenByBregman());
  } catch (const runtime::WriteError &e) {
    throw Error(e.what());
  }
  Params feeds;
  std::vector<std::string> inputNames;
  for (const onnx::ValueSpec &spec : onnxModel.inputs())
    inputNames.push_back(spec.name);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const onnx::ValueSpec &spec = onnxModel.inputs()[i];
    std::string tensorName;
    Tensor t = onnx::readTensorProto(inputs[i], &tensorName);
    if (std::string problem =
            runtime::swappedInputProblem(inputs[i], tensorName, i, inputNames);
        !problem.empty())
      throw Error(runtime::printableText(problem));
    // Said here, by input and file, not by the first op that reads it (the
    // batch, dimension 0, may differ from the declared one).
    bool shapeFits = t.rank() == static_cast<int64_t>(spec.shape.size());
    for (size_t d = 1; shapeFits && d < spec.shape.size(); ++d)
      shapeFits = t.dim(d) == spec.shape[d];
    if (t.dtype() != spec.dtype || !shapeFits)
      throw Error(fmt::format("{}: input '{}' is {}{} ({}), the model declares "
                              "{}{} (any batch)",
                              model, spec.name, dtypeName(t.dtype()),
                              shapeString(t.shape()), inputs[i],
                              dtypeName(spec.dtype), shapeString(spec.shape)));
    feeds.add(spec.name, t);
  }
  std::vector<onnx::SparseLayer> sparseLayers;
  // The rows a Gemm / MatMul multiplies at once: the first input's batch.
  int64_t batch = 0; // unknown without inputs: the fixed threshold
  if (!onnxModel.inputs().empty()) {
    const Tensor &first = feeds.at(onnxModel.inputs()[0].name);
    batch = first.rank() > 0 ? first.dim(0) : 1;
    if (std::string note = onnxModel.batchGuessNote(batch); !note.empty())
      fmt::print("note: {}\n", note);
  }
  Params weights = onnx::withSparseLayers(
      onnxModel, sparseExecPolicy(sparseExec), &sparseLayers, batch, &feeds);
  for (const onnx::SparseLayer &layer : sparseLayers) {
    // A filter's crossover is its shape's, whatever the batch.
    bool filter = layer.filter;
    fmt::print("sparse layer {}: weight '{}', density {:.4g}{}\n", layer.node,
               layer.initializer, layer.density,
               sparseExec == "auto"
                   ? fmt::format(" < crossover {:.3g} ({}, {})", layer.crossover.density,
                                 layer.crossover.source,
                                 filter ? std::string("per filter shape, geometry and input size")
                                        : fmt::format("batch {}", batch))
                   : std::string());
  }
  if (sparseExec != "off")
    fmt::print("sparse execution: {} layer(s) on their CSR\n",
               sparseLayers.size());
  auto infer = jit(
      [&onnxModel](const Params &w, const Params &c, const Params &in) {
        return onnxModel.apply(w, c, in);
      },
      JitOptions{{}, "onnx_run"});
  Params results = infer(weights, onnxModel.constants(), feeds);
  if (!saveArtifact.empty()) {
    infer.setArtifactEntry(
        "inference",
        runtime::inferenceEntryJson(inferenceSpec(
            model, sparseExec, sparseLayers,
            weights.size() + onnxModel.constants().size(), feeds, results)));
infer.save(saveArtifact, weights, onnxModel.constants(), feeds);
    fmt::print("saved the inference ({} layer(s) on their CSR) to {}\n",
               sparseLayers.size(), saveArtifact);
  }
  for (size_t i = 0; i < onnxModel.outputs().size(); ++i) {
    const std::string &name = onnxModel.outputs()[i].name;
    const Tensor &t = results.at(name);
    fmt::print("output {} {}{}\n", name, dtypeName(t.dtype()),
               shapeString(t.shape()));
    if (i < outputs.size())
      onnx::writeTensorProto(outputs[i], t, name);
  }
  return 0;
}

} // namespace bregman::tools
