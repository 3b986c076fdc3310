//===- GraphEdits.h - Initializers written into an ONNX graph ---*- C++ -*-===//
//
// Private to the ONNX importer: the export's initializer writers and the
// split of tied initializers (OnnxModel::tiedInitializers / untied).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_ONNX_LIB_GRAPHEDITS_H
#define BREGMAN_ONNX_LIB_GRAPHEDITS_H

#include "bregman/onnx/OnnxModel.h"

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace bregman::onnx::detail {

/// `name` without PyTorch's role suffix (".weight", ".bias",
/// ".running_mean", ".running_var"); a name that is only a suffix stays.
std::string initializerStem(const std::string &name);

/// Appends `t` (f32) to `graph` as the dense initializer `name`.
void addDenseInitializer(::onnx::GraphProto *graph, const std::string &name,
                         const Tensor &t);
/// Appends `t` (f32) to `graph` as the sparse initializer `name`: its
/// non-zero values and their linear indices.
void addSparseInitializer(::onnx::GraphProto *graph, const std::string &name,
                          const Tensor &t);

/// The uses of tied float initializers (of `weights`) that get a copy of
/// their own: see OnnxModel::tiedInitializers.
std::vector<InitializerSplit> planSplits(const ::onnx::GraphProto &graph,
                                         const Params &weights, int64_t opset);
/// Points every split use at its copy and adds the copies (dense, the values
/// of `weights`) to `model`.
void applySplits(::onnx::ModelProto &model, const std::vector<InitializerSplit> &splits,
                 const Params &weights);

/// The outputs of Identity nodes that copy a float initializer of `weights`
/// (and are not graph outputs), in graph order: PyTorch's exporter writes
/// the equal parameters of deep-copied layers (nn.TransformerEncoder's, a
/// fresh module's) as one initializer and an Identity per copy.
std::vector<std::string> identityCopies(const ::onnx::GraphProto &graph,
                                        const Params &weights);
/// Replaces each of those Identity nodes by an initializer named as its
/// output, with the copied initializer's values (dense).
void materializeIdentityCopies(::onnx::ModelProto &model, const Params &weights);

} // namespace bregman::onnx::detail

#endif // BREGMAN_ONNX_LIB_GRAPHEDITS_H
