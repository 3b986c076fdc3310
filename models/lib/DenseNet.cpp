//===- DenseNet.cpp - The DenseNet of the architecture search -------------===//

#include "bregman/models/DenseNet.h"
#include "Images.h"

#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace bregman::models {

DenseNet::DenseNet(int64_t channels, int64_t size, int64_t classes,
                   int64_t growth, int64_t layers)
    : channels(channels), size(size), growth(growth),
      stem(channels, growth, 3, "stem", same3x3(1), /*bias=*/false),
      fc(size * size, classes, "fc") {
  if (growth < 1 || layers < 1)
    throw Error(fmt::format("DenseNet: growth {} and layers {} must be "
                            "positive",
                            growth, layers));
  for (int64_t i = 1; i <= layers; ++i)
    dense.emplace_back(growth * i, growth, 3, fmt::format("dense{}", i),
                       same3x3(1));
  dense.emplace_back(growth * (layers + 1), 1, 3, "transition", same3x3(1));
}

Params DenseNet::init(uint64_t seed, const nn::SparseInit &config) const {
  nn::Rng rng(seed);
  Params params;
  stem.init(params, rng, config);
  for (const nn::Conv2d &conv : dense)
    conv.init(params, rng, config);
  nn::SparseInit head = config;
  head.p = 1.0;
  head.perRow = false;
  fc.init(params, rng, head);
  return params;
}

Tensor DenseNet::forward(const Params &params, const Tensor &x,
                         const nn::Mode &) const {
  Tensor h = stem(params, asImages("DenseNet", x, channels, size));
  for (const nn::Conv2d &conv : dense)
    h = concat({h, relu(conv(params, h))}, 1);
  Tensor last = slice(h, 1, h.dim(1) - 1, 1);
  return fc(params, reshape(last, {last.dim(0), size * size}));
}

nn::SparseFilters DenseNet::sparseFilters() const {
  nn::SparseFilters filters;
  stem.addSparseFilter(filters);
  for (const nn::Conv2d &conv : dense)
    conv.addSparseFilter(filters);
  return filters;
}

std::string DenseNet::describe() const {
  return fmt::format("densenet {}x{}x{}: stem conv 3x3 {}, {} dense layers of "
                     "growth {}, transition to 1 channel ({} in all), fc "
                     "{}-{}",
                     channels, size, size, growth, dense.size() - 1, growth,
                     dense.back().in + 1, fc.in, fc.out);
}

/// Whether kernel (o, i) of a [out, in, k, k] weight has a non-zero entry.
static bool kernelLive(const std::vector<float> &w, int64_t in, int64_t k2,
                       int64_t o, int64_t i) {
  const float *kernel = w.data() + (o * in + i) * k2;
  for (int64_t e = 0; e < k2; ++e)
    if (kernel[e] != 0.0f)
      return true;
  return false;
}

ConnectionMatrix DenseNet::connections(const Params &params) const {
  ConnectionMatrix m;
  m.sources.push_back("input");
  m.sources.push_back("stem");
  for (size_t i = 0; i + 1 < dense.size(); ++i)
    m.sources.push_back(dense[i].name);
  // Source block b (b ≥ 1) holds channels [(b−1)·growth, b·growth) of a
  // dense layer's input; the stem reads the image (block 0).
  std::vector<const nn::Conv2d *> convs = {&stem};
  for (const nn::Conv2d &conv : dense)
    convs.push_back(&conv);
  const double none = std::numeric_limits<double>::quiet_NaN();
  for (const nn::Conv2d *conv : convs) {
    m.layers.push_back(conv->name);
    std::vector<float> w = params.at(conv->name + ".weight").toVector<float>();
    std::vector<double> row(m.sources.size(), none);
    int64_t k2 = conv->kernel * conv->kernel;
    auto liveFraction = [&](int64_t first, int64_t count) {
      int64_t live = 0;
      for (int64_t o = 0; o < conv->out; ++o)
        for (int64_t i = first; i < first + count; ++i)
          live += kernelLive(w, conv->in, k2, o, i);
      return double(live) / double(conv->out * count);
    };
    if (conv == &stem)
      row[0] = liveFraction(0, channels);
    else
      for (int64_t b = 0; b * growth < conv->in; ++b)
        row[b + 1] = liveFraction(b * growth, growth);
    m.live.push_back(row);
  }
  return m;
}

int64_t ConnectionMatrix::switchedOff() const {
  int64_t off = 0;
  for (const std::vector<double> &row : live)
    for (double v : row)
      off += v == 0.0;
  return off;
}

int64_t ConnectionMatrix::connections() const {
  int64_t n = 0;
  for (const std::vector<double> &row : live)
    for (double v : row)
      n += !std::isnan(v);
  return n;
}

std::string formatConnections(const ConnectionMatrix &m) {
  std::string text = fmt::format("{:<12}", "live kernels");
  for (const std::string &s : m.sources)
    text += fmt::format(" {:>7}", s);
  text += "\n";
  for (size_t r = 0; r < m.layers.size(); ++r) {
    text += fmt::format("{:<12}", m.layers[r]);
    for (double v : m.live[r])
      text += std::isnan(v) ? fmt::format(" {:>7}", "-")
              : v == 0.0    ? fmt::format(" {:>7}", "off")
                            : fmt::format(" {:>6.1f}%", 100 * v);
    text += "\n";
  }
  text += fmt::format("{} of {} dense connections switched off\n",
                      m.switchedOff(), m.connections());
  return text;
}

} // namespace bregman::models
