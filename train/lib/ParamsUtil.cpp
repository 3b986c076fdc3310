//===- ParamsUtil.cpp - Host copies and finiteness checks of Params -------===//

#include "ParamsUtil.h"

#include "bregman/runtime/Buffer.h"

#include <cmath>
#include <cstring>
#include <fmt/format.h>

namespace bregman::train {

std::string firstNonFinite(const Params &params) {
  for (const auto &[name, t] : params) {
    if (t.dtype() != DType::F32)
      continue;
    const float *v = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(v[i]))
        return fmt::format("'{}' holds {} at element {}", name, v[i], i);
  }
  return "";
}

} // namespace bregman::train
