//===- ParamsUtil.h - Host copies and finiteness of Params ---*- C++ -*-===//

#ifndef BREGMAN_TRAIN_LIB_PARAMSUTIL_H
#define BREGMAN_TRAIN_LIB_PARAMSUTIL_H

#include "bregman/Params.h"

#include <string>

namespace bregman::train {

/// The first tensor of `params` holding a NaN or an infinity, described
/// with its name, value and element, or "".
std::string firstNonFinite(const Params &params);

} // namespace bregman::train

#endif // BREGMAN_TRAIN_LIB_PARAMSUTIL_H
