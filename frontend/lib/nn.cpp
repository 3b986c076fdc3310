//===- nn.cpp - Layers and the sparse initialisation ----------------------===//

#include "bregman/nn.h"

#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace bregman::nn {

void Linear::init(Params &params, Rng &rng, const SparseInit &config) const {
  if (config.p <= 0.0 || config.p > 1.0)
    throw Error(fmt::format("{}: sparse init probability p = {} is not in (0, 1]",
                            name, config.p));
  Tensor weight = Tensor::zeros({out, in});
  Tensor bias = Tensor::zeros({out});
  double stddev = config.r * std::sqrt(2.0 / static_cast<double>(in));
  std::normal_distribution<double> normal(0.0, stddev);
  std::bernoulli_distribution keep(config.p);
  float *w = weight.data<float>();
  if (config.perRow) {
    // ⌈out·p⌉ rows, chosen uniformly without replacement, are kept.
    std::vector<int64_t> rows(out);
    for (int64_t i = 0; i < out; ++i)
      rows[i] = i;
    int64_t kept = static_cast<int64_t>(std::ceil(out * config.p - 1e-9));
    for (int64_t i = 0; i < kept; ++i) {
      std::uniform_int_distribution<int64_t> pick(i, out - 1);
      std::swap(rows[i], rows[pick(rng)]);
    }
    for (int64_t i = 0; i < kept; ++i)
      for (int64_t j = 0; j < in; ++j)
        w[rows[i] * in + j] = static_cast<float>(normal(rng));
  } else {
    for (int64_t i = 0; i < out * in; ++i) {
      // Draw both always, so that the random stream does not depend on p.
      double value = normal(rng);
      w[i] = keep(rng) ? static_cast<float>(value) : 0.0f;
    }
  }
  std::uniform_real_distribution<double> uniform(
      0.0, config.biasScale / std::sqrt(static_cast<double>(in)));
  float *bp = bias.data<float>();
  for (int64_t i = 0; i < out; ++i)
    bp[i] = static_cast<float>(uniform(rng));
  params.add(name + ".weight", weight);
  params.add(name + ".bias", bias);
}

Tensor Linear::operator()(const Params &params, const Tensor &x,
                          SourceLocation loc) const {
  CallSite site(loc);
  const Tensor &w = params.at(name + ".weight");
  const Tensor &b = params.at(name + ".bias");
  if (x.rank() < 2 || x.dim(-1) != in)
    throw Error(fmt::format("{}: expects input [N, {}] or [..., {}], got {}",
                            name, in, in, shapeString(x.shape())));
  auto [pos, crd, val] = csrKeys(name + ".weight");
  if (x.rank() != 2 || !params.contains(pos))
    return matmul(x, w, false, true) + b;
  CsrWeight csr{params.at(pos), params.at(crd), params.at(val), w, out, in};
  return csrProduct(x, csr, /*transposeW=*/true) + b;
}

/// Keeps ⌈n·p⌉ of `n` groups chosen uniformly without replacement; true at
/// the kept indices.
static std::vector<bool> chooseGroups(int64_t n, double p, Rng &rng) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i)
    order[i] = i;
  int64_t kept = std::min<int64_t>(n, static_cast<int64_t>(std::ceil(n * p - 1e-9)));
  for (int64_t i = 0; i < kept; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(order[i], order[pick(rng)]);
  }
  std::vector<bool> keep(n, false);
  for (int64_t i = 0; i < kept; ++i)
    keep[order[i]] = true;
  return keep;
}

void checkSparseInit(const std::string &name, const SparseInit &config) {
  if (config.p <= 0.0 || config.p > 1.0)
    throw Error(fmt::format("{}: sparse init probability p = {} is not in (0, 1]",
                            name, config.p));
}

Tensor sparseWeight(const Shape &shape, int64_t fanIn, int64_t groupSize,
                    bool perGroup, Rng &rng, const SparseInit &config) {
  Tensor weight = Tensor::zeros(shape);
  std::normal_distribution<double> normal(
      0.0, config.r * std::sqrt(2.0 / static_cast<double>(fanIn)));
  float *w = weight.data<float>();
  int64_t groups = weight.numel() / groupSize;
  if (perGroup) {
    std::vector<bool> keep = chooseGroups(groups, config.p, rng);
    for (int64_t k = 0; k < groups; ++k)
      for (int64_t j = 0; j < groupSize; ++j) {
        double value = normal(rng);
        w[k * groupSize + j] = keep[k] ? static_cast<float>(value) : 0.0f;
      }
  } else {
    std::bernoulli_distribution keep(config.p);
    for (int64_t i = 0; i < weight.numel(); ++i) {
      double value = normal(rng);
      w[i] = keep(rng) ? static_cast<float>(value) : 0.0f;
    }
  }
  return weight;
}

Tensor uniformBias(int64_t size, int64_t fanIn, Rng &rng, const SparseInit &config) {
  Tensor bias = Tensor::zeros({size});
  std::uniform_real_distribution<double> uniform(
      0.0, config.biasScale / std::sqrt(static_cast<double>(fanIn)));
  float *bp = bias.data<float>();
  for (int64_t i = 0; i < size; ++i)
    bp[i] = static_cast<float>(uniform(rng));
  return bias;
}

void Conv2d::init(Params &params, Rng &rng, const SparseInit &config) const {
  checkSparseInit(name, config);
  int64_t perFilter = in / options.groups;
  int64_t fanIn = perFilter * kernel * kernel;
  params.add(name + ".weight",
             sparseWeight({out, perFilter, kernel, kernel}, fanIn, kernel * kernel,
                          config.perKernel, rng, config));
  Tensor bias = uniformBias(out, fanIn, rng, config);
  if (this->bias)
    params.add(name + ".bias", bias);
}

Tensor Conv2d::operator()(const Params &params, const Tensor &x,
                          SourceLocation loc) const {
  CallSite site(loc);
  const Tensor &w = params.at(name + ".weight");
  if (x.rank() != 4 || x.dim(1) != in)
    throw Error(fmt::format("{}: expects input [N, {}, H, W], got {}", name, in,
                            shapeString(x.shape())));
  std::optional<CsrFilter> csr =
      runsSparse() ? filterCsr(params, name + ".weight", w) : std::nullopt;
  if (csr) // the bias added in the loop
    return sparseConv2d(x, *csr, options,
                        bias ? params.at(name + ".bias") : Tensor());
  Tensor y = conv2d(x, w, options);
  if (!bias)
    return y;
  return y + reshape(params.at(name + ".bias"), {1, out, 1, 1});
}

bool Conv2d::runsSparse() const {
  return sparseConv2dFits({out, in / options.groups, kernel, kernel}, options);
}

void Conv2d::addSparseFilter(SparseFilters &filters) const {
  if (runsSparse())
    filters.emplace(name + ".weight", SparseFilter{options});
}

void BatchNorm2d::init(Params &params) const {
  params.add(name + ".scale", Tensor::fromVector(std::vector<float>(channels, 1.0f),
                                                 {channels}));
  params.add(name + ".shift", Tensor::zeros({channels}));
}

void BatchNorm2d::initBuffers(Params &buffers) const {
  buffers.add(name + ".running_mean", Tensor::zeros({channels}));
  buffers.add(name + ".running_var",
              Tensor::fromVector(std::vector<float>(channels, 1.0f), {channels}));
}

Tensor BatchNorm2d::operator()(const Params &params, const Tensor &x,
                               const Mode &mode, SourceLocation loc) const {
  CallSite site(loc);
  if (x.rank() != 4 || x.dim(1) != channels)
    throw Error(fmt::format("{}: expects input [N, {}, H, W], got {}", name,
                            channels, shapeString(x.shape())));
  Shape perChannel = {1, channels, 1, 1};
  Tensor scale = params.at(name + ".scale"), shift = params.at(name + ".shift");
  if (mode.training) {
    Moments batch;
    Tensor y = batchNorm(x, scale, shift, eps, &batch);
    if (mode.updated) {
      const Params &old = *mode.buffers;
      Moments running = updatedRunningMoments(
          {old.at(name + ".running_mean"), old.at(name + ".running_var")},
          batch, x, momentum);
      mode.updated->add(name + ".running_mean", running.mean);
      mode.updated->add(name + ".running_var", running.variance);
    }
    return y;
  }
  if (!mode.buffers || !mode.buffers->contains(name + ".running_mean"))
    throw Error(fmt::format("{}: evaluation needs the running statistics "
                            "(pass the model's buffers in the Mode)",
                            name));
  Tensor mean = reshape(mode.buffers->at(name + ".running_mean"), perChannel);
  Tensor var = reshape(mode.buffers->at(name + ".running_var"), perChannel);
  Tensor normalized = (x - mean) / sqrt(var + eps);
  return normalized * reshape(scale, perChannel) + reshape(shift, perChannel);
}

//===----------------------------------------------------------------------===//
// Transformer layers
//===----------------------------------------------------------------------===//

void LayerNorm::init(Params &params) const {
  params.add(name + ".scale",
             Tensor::fromVector(std::vector<float>(width, 1.0f), {width}));
  params.add(name + ".shift", Tensor::zeros({width}));
}

Tensor LayerNorm::operator()(const Params &params, const Tensor &x) const {
  if (x.rank() < 1 || x.dim(-1) != width)
    throw Error(fmt::format("{}: expects input [..., {}], got {}", name, width,
                            shapeString(x.shape())));
  return layerNorm(x, 1, params.at(name + ".scale"), params.at(name + ".shift"),
                   eps);
}

void Embedding::init(Params &params, Rng &rng, const SparseInit &config) const {
  checkSparseInit(name, config);
  // fan_in 2 makes the normal's deviation r·√(2/2) = r: N(0, 1) when dense.
  params.add(name + ".weight",
             sparseWeight({count, width}, 2, width, config.perRow, rng, config));
}

Tensor Embedding::operator()(const Params &params, const Tensor &indices) const {
  if (indices.dtype() != DType::I32)
    throw Error(fmt::format("{}: expects i32 indices, got {} {}", name,
                            dtypeName(indices.dtype()),
                            shapeString(indices.shape())));
  return take(params.at(name + ".weight"), indices);
}

MultiHeadAttention::MultiHeadAttention(int64_t width, int64_t heads,
                                       std::string name)
    : width(width), heads(heads), headDim(heads > 0 ? width / heads : 0),
      name(std::move(name)) {
  if (heads <= 0 || width <= 0 || width % heads != 0)
    throw Error(fmt::format("{}: width {} is not a positive multiple of the "
                            "number of heads {}",
                            this->name, width, heads));
}

static const char *const kProjections[] = {"q", "k", "v", "out"};

void MultiHeadAttention::init(Params &params, Rng &rng,
                              const SparseInit &config) const {
  checkSparseInit(name, config);
  // Row-group init (perRow) keeps whole heads, the groups of l1_l2_heads.
  for (const char *p : kProjections) {
    std::string prefix = name + "." + p;
    params.add(prefix + ".weight",
               sparseWeight({heads, headDim, width}, width, headDim * width,
                            config.perRow, rng, config));
    params.add(prefix + ".bias", uniformBias(width, width, rng, config));
  }
}

Tensor MultiHeadAttention::operator()(const Params &params, const Tensor &x,
                                      const Tensor &mask) const {
  if (x.rank() != 3 || x.dim(2) != width)
    throw Error(fmt::format("{}: expects input [N, S, {}], got {}", name,
                            width, shapeString(x.shape())));
  int64_t n = x.dim(0), s = x.dim(1);
  auto weight = [&](const char *p) {
    return reshape(params.at(name + "." + p + ".weight"), {width, width});
  };
  auto bias = [&](const char *p) { return params.at(name + "." + p + ".bias"); };
  // [N, S, E] -> [N, heads, S, d]
  auto project = [&](const char *p) {
    Tensor y = matmul(x, weight(p), false, true) + bias(p);
    return transpose(reshape(y, {n, s, heads, headDim}), {0, 2, 1, 3});
  };
  Tensor q = project("q"), k = project("k"), v = project("v");
  Tensor scores = matmul(q, k, false, true) * (1.0 / std::sqrt(double(headDim)));
  Tensor context = matmul(softmax(scores, -1, mask), v); // [N, heads, S, d]
  Tensor joined = reshape(transpose(context, {0, 2, 1, 3}), {n, s, width});
  // out.weight is [heads·d, E] flattened: no transpose.
  return matmul(joined, weight("out")) + bias("out");
}

int64_t MultiHeadAttention::activeHeads(const Params &params) const {
  int64_t active = 0, perHead = headDim * width;
  for (int64_t h = 0; h < heads; ++h) {
    bool live = false;
    for (const char *p : kProjections) {
      const float *w = params.at(name + "." + p + ".weight").data<float>();
      for (int64_t i = h * perHead; i < (h + 1) * perHead && !live; ++i)
        live = w[i] != 0.0f;
    }
    active += live;
  }
  return active;
}

TransformerEncoderLayer::TransformerEncoderLayer(int64_t width, int64_t heads,
                                                 int64_t feedforward,
                                                 std::string name,
                                                 Activation activation,
                                                 double dropout)
    : attn(width, heads, name + ".attn"),
      linear1(width, feedforward, name + ".linear1"),
      linear2(feedforward, width, name + ".linear2"),
      norm1(width, name + ".norm1"), norm2(width, name + ".norm2"),
      activation(activation), dropout(dropout), name(std::move(name)) {
  if (dropout < 0.0 || dropout >= 1.0)
    throw Error(fmt::format("{}: dropout rate {} is not in [0, 1)", this->name,
                            dropout));
}

void TransformerEncoderLayer::init(Params &params, Rng &rng,
                                   const SparseInit &config) const {
  attn.init(params, rng, config);
  linear1.init(params, rng, config);
  linear2.init(params, rng, config);
  norm1.init(params);
  norm2.init(params);
}

Tensor TransformerEncoderLayer::operator()(const Params &params, const Tensor &x,
                                           const Mode &mode,
                                           const Tensor &mask) const {
  // A mask is a function of (seed, element index): the attention and the
  // feed-forward outputs, of equal shapes, would share it. Dropout `which`
  // takes the mask of copy `which` of t stacked which + 1 times (other
  // indices); the hidden layer's, of another shape, takes copy 0.
  auto drop = [&](const Tensor &t, int64_t which) {
    if (!mode.training || dropout == 0.0 || !mode.dropoutSeed.defined())
      return t;
    if (which == 0)
      return bregman::dropout(t, dropout, mode.dropoutSeed);
    Shape stacked = t.shape();
    stacked.insert(stacked.begin(), which + 1);
    Shape one = t.shape();
    one.insert(one.begin(), 1);
    Tensor copies = broadcastTo(reshape(t, one), stacked);
    return reshape(slice(bregman::dropout(copies, dropout, mode.dropoutSeed), 0,
                         which, 1),
                   t.shape());
  };
  Tensor h = norm1(params, x + drop(attn(params, x, mask), 0));
  Tensor hidden = linear1(params, h);
  hidden = activation == Activation::Gelu ? gelu(hidden) : relu(hidden);
  return norm2(params, h + drop(linear2(params, drop(hidden, 0)), 1));
}

} // namespace bregman::nn
