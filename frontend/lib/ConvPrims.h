//===- ConvPrims.h - The VJP primitives of convolution and pooling -------===//
//
// Recorded by the reverse pass only (Grad.cpp); defined in Conv.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_LIB_CONVPRIMS_H
#define BREGMAN_LIB_CONVPRIMS_H

#include "bregman/Trace.h"

namespace bregman::detail {
Tensor conv2dGradInput(const Tensor &dy, const Tensor &w, const Shape &input,
                       const Window &window);
Tensor conv2dGradFilter(const Tensor &x, const Tensor &dy, const Shape &filter,
                        const Window &window);
Tensor maxPool2dGrad(const Tensor &x, const Tensor &dy, const Window &window);
Tensor sumPool2dGrad(const Tensor &dy, const Shape &input, const Window &window);
/// The padding of a stride-1 convolution's input gradient taken as a
/// convolution of the output cotangent: dilation·(K − 1) − padding per side
/// (and back again: the map is its own inverse).
std::array<int64_t, 4> mirroredPadding(const Window &w);
/// The window of a sparse_conv2d node's input gradient taken as a
/// sparse_conv2d node: from a forward node (input and output shapes
/// `input`, `output`), the flipped node's (before: mirrored; after: up to
/// the forward input's last row, past the rows a stride left unread); from
/// a flipped node, the forward node's. Strides and dilations stay.
Window sparseConvGradientWindow(const Window &w, bool fromFlip,
                                const Shape &input, const Shape &output);
/// A breg.sparse_conv2d node (SparseConv.cpp): `used` is the CSR the loop
/// reads, `other` (optional) the CSR its input gradient reads, `filter` the
/// forward filter's shape.
Tensor sparseConv2dNode(const Tensor &x, const CsrWeight &used,
                        const CsrWeight *other, const Tensor &dense,
                        const std::array<int64_t, 4> &filter,
                        const Window &window, bool flip,
                        const Tensor &bias = Tensor());
/// Where a sparse_conv2d node's optional inputs are (-1: absent): inputs
/// are x, the CSR read, [the other CSR], [the dense filter], [the bias].
struct SparseConvInputs {
  int other = -1, dense = -1, bias = -1;
};
SparseConvInputs sparseConvInputs(const NodeAttrs &attrs, size_t inputs);
/// Its input gradient: the same loop on the cotangent with the CSRs swapped,
/// the taps flipped and the padding mirrored.
Tensor sparseConv2dInputGrad(const Tensor &g, const Shape &input,
                             const CsrWeight &used, const CsrWeight &other,
                             const Tensor &dense,
                             const std::array<int64_t, 4> &filter,
                             const Window &window, bool flip);
/// The table of resample's gradient for an axis of `inputs` elements.
ResampleTable transposedTable(const ResampleTable &table, int64_t inputs);
} // namespace bregman::detail

#endif // BREGMAN_LIB_CONVPRIMS_H
