//===- Groups.h - The groups of a weight, counted on the host ---*- C++ -*-===//
//
// The groups of ALGORITHMS.md §3/§6 by a weight's rank: the rows of a 2-D
// weight (l1_l2, l1_l1_l2, node density), the heads of a 3-D attention
// projection [heads, d, E] (l1_l2_heads) and the k×k kernels of a 4-D conv
// weight (l1_l2_conv, kernel density). Each is a contiguous run of row-major
// elements, which is what the host loops (sparsity meter, subgradient init)
// rely on.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_FRONTEND_GROUPS_H
#define BREGMAN_FRONTEND_GROUPS_H

#include "bregman/Tensor.h"

namespace bregman {

/// `count` groups of `size` consecutive elements (none for other ranks).
struct GroupShape {
  int64_t count = 0, size = 0;
};

inline GroupShape groupShape(const Shape &shape) {
  switch (shape.size()) {
  case 2:
    return {shape[0], shape[1]};
  case 3:
    return {shape[0], shape[1] * shape[2]};
  case 4:
    return {shape[0] * shape[1], shape[2] * shape[3]};
  default:
    return {};
  }
}

} // namespace bregman

#endif // BREGMAN_FRONTEND_GROUPS_H
