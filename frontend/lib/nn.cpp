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

Tensor Linear::operator()(const Params &params, const Tensor &x) const {
  const Tensor &w = params.at(name + ".weight");
  const Tensor &b = params.at(name + ".bias");
  if (x.rank() != 2 || x.dim(1) != in)
    throw Error(fmt::format("{}: expects input [N, {}], got {}", name, in,
                            shapeString(x.shape())));
  return matmul(x, w, false, true) + b;
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

Tensor Conv2d::operator()(const Params &params, const Tensor &x) const {
  const Tensor &w = params.at(name + ".weight");
  if (x.rank() != 4 || x.dim(1) != in)
    throw Error(fmt::format("{}: expects input [N, {}, H, W], got {}", name, in,
                            shapeString(x.shape())));
  Tensor y = conv2d(x, w, options);
  if (!bias)
    return y;
  return y + reshape(params.at(name + ".bias"), {1, out, 1, 1});
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
                               const Mode &mode) const {
  if (x.rank() != 4 || x.dim(1) != channels)
    throw Error(fmt::format("{}: expects input [N, {}, H, W], got {}", name,
                            channels, shapeString(x.shape())));
  Shape perChannel = {1, channels, 1, 1};
  Tensor mean, var;
  if (mode.training) {
    mean = bregman::mean(x, {0, 2, 3}, /*keepDims=*/true);
    Tensor centered = x - mean;
    var = bregman::mean(centered * centered, {0, 2, 3}, /*keepDims=*/true);
    if (mode.updated) {
      // Running statistics: an exponential average, the variance unbiased.
      double n = static_cast<double>(x.numel() / channels);
      const Params &old = *mode.buffers;
      Tensor batchMean = reshape(stopGradient(mean), {channels});
      Tensor batchVar = reshape(stopGradient(var), {channels}) * (n / std::max(n - 1, 1.0));
      mode.updated->add(name + ".running_mean",
                        old.at(name + ".running_mean") * (1 - momentum) +
                            batchMean * momentum);
      mode.updated->add(name + ".running_var",
                        old.at(name + ".running_var") * (1 - momentum) +
                            batchVar * momentum);
    }
  } else {
    if (!mode.buffers || !mode.buffers->contains(name + ".running_mean"))
      throw Error(fmt::format("{}: evaluation needs the running statistics "
                              "(pass the model's buffers in the Mode)",
                              name));
    mean = reshape(mode.buffers->at(name + ".running_mean"), perChannel);
    var = reshape(mode.buffers->at(name + ".running_var"), perChannel);
  }
  Tensor normalized = (x - mean) / sqrt(var + eps);
  return normalized * reshape(params.at(name + ".scale"), perChannel) +
         reshape(params.at(name + ".shift"), perChannel);
}

/// [N, C·S·S] -> [N, C, S, S], with an error naming the model otherwise.
static Tensor asImages(const char *model, const Tensor &x, int64_t channels,
                       int64_t size) {
  if (x.rank() != 2 || x.dim(1) != channels * size * size)
    throw Error(fmt::format("{}: expects a batch [N, {}] of flattened "
                            "{}×{}×{} images, got {}",
                            model, channels * size * size, channels, size, size,
                            shapeString(x.shape())));
  return reshape(x, {x.dim(0), channels, size, size});
}

static Conv2dOptions same3x3(int64_t stride) {
  return Conv2dOptions{{stride, stride}, symmetricPadding(1, 1)};
}

/// Side of the ConvNet's last feature map: two (5×5 conv, 2×2 pool) stages.
static int64_t convNetFeatureSide(int64_t size) {
  return ((size - 4) / 2 - 4) / 2;
}

ConvNet::ConvNet(int64_t channels, int64_t size, int64_t classes,
                 std::array<int64_t, 3> widths)
    : channels(channels), size(size), conv1(channels, widths[0], 5, "conv1"),
      conv2(widths[0], widths[1], 5, "conv2"),
      fc1(widths[1] * convNetFeatureSide(size) * convNetFeatureSide(size), widths[2],
          "fc1"),
      fc2(widths[2], classes, "fc2") {
  if (size < 16)
    throw Error(fmt::format("ConvNet: images of {}×{} are too small for two "
                            "5×5 convolutions and 2×2 poolings",
                            size, size));
}

Params ConvNet::init(uint64_t seed, const SparseInit &config) const {
  Rng rng(seed);
  Params params;
  conv1.init(params, rng, config);
  conv2.init(params, rng, config);
  fc1.init(params, rng, config);
  fc2.init(params, rng, config);
  return params;
}

Tensor ConvNet::forward(const Params &params, const Tensor &x,
                        const Mode &) const {
  Tensor h = asImages("ConvNet", x, channels, size);
  h = relu(maxPool2d(conv1(params, h)));
  h = relu(maxPool2d(conv2(params, h)));
  h = reshape(h, {h.dim(0), h.dim(1) * h.dim(2) * h.dim(3)});
  return fc2(params, relu(fc1(params, h)));
}

std::string ConvNet::describe() const {
  return fmt::format("convnet {}x{}x{}: conv 5x5 {}, pool, conv 5x5 {}, pool, "
                     "fc {}-{}-{}",
                     channels, size, size, conv1.out, conv2.out, fc1.in, fc1.out,
                     fc2.out);
}

ResNet18::ResNet18(int64_t channels, int64_t size, int64_t classes,
                   int64_t width)
    : channels(channels), size(size), width(width),
      stem(channels, width, 3, "conv1", same3x3(1), /*bias=*/false),
      stemBn(width, "bn1"), fc(8 * width, classes, "fc") {
  int64_t in = width;
  for (int stage = 0; stage < 4; ++stage) {
    int64_t out = width << stage;
    for (int j = 0; j < 2; ++j) {
      int64_t stride = stage > 0 && j == 0 ? 2 : 1;
      std::string prefix = fmt::format("layer{}.{}", stage + 1, j);
      bool projection = stride != 1 || in != out;
      blocks.push_back(Block{
          Conv2d(in, out, 3, prefix + ".conv1", same3x3(stride), false),
          Conv2d(out, out, 3, prefix + ".conv2", same3x3(1), false),
          BatchNorm2d(out, prefix + ".bn1"), BatchNorm2d(out, prefix + ".bn2"),
          projection,
          Conv2d(in, out, 1, prefix + ".shortcut.conv",
                 Conv2dOptions{{stride, stride}}, false),
          BatchNorm2d(out, prefix + ".shortcut.bn")});
      in = out;
    }
  }
  if (size < 8)
    throw Error(fmt::format("ResNet18: images of {}×{} are too small for three "
                            "stride-2 stages",
                            size, size));
}

Params ResNet18::init(uint64_t seed, const SparseInit &config) const {
  Rng rng(seed);
  Params params;
  stem.init(params, rng, config);
  stemBn.init(params);
  for (const Block &b : blocks) {
    b.conv1.init(params, rng, config);
    b.bn1.init(params);
    b.conv2.init(params, rng, config);
    b.bn2.init(params);
    if (b.projection) {
      b.shortcut.init(params, rng, config);
      b.shortcutBn.init(params);
    }
  }
  fc.init(params, rng, config);
  return params;
}

Params ResNet18::initBuffers() const {
  Params buffers;
  stemBn.initBuffers(buffers);
  for (const Block &b : blocks) {
    b.bn1.initBuffers(buffers);
    b.bn2.initBuffers(buffers);
    if (b.projection)
      b.shortcutBn.initBuffers(buffers);
  }
  return buffers;
}

Tensor ResNet18::forward(const Params &params, const Tensor &x,
                         const Mode &mode) const {
  Tensor h = asImages("ResNet18", x, channels, size);
  h = relu(stemBn(params, stem(params, h), mode));
  for (const Block &b : blocks) {
    Tensor y = relu(b.bn1(params, b.conv1(params, h), mode));
    y = b.bn2(params, b.conv2(params, y), mode);
    Tensor shortcut =
        b.projection ? b.shortcutBn(params, b.shortcut(params, h), mode) : h;
    h = relu(y + shortcut);
  }
  h = globalAvgPool2d(h);
  return fc(params, reshape(h, {h.dim(0), h.dim(1)}));
}

std::string ResNet18::describe() const {
  return fmt::format("resnet18 {}x{}x{}, width {}", channels, size, size, width);
}

Vgg::Vgg(int64_t channels, int64_t size, int64_t classes, int64_t width)
    : channels(channels), size(size), width(width), fc(8 * width, classes, "fc") {
  const int64_t widths[] = {width, 2 * width, 4 * width, 4 * width, 8 * width};
  const bool pools[] = {true, true, false, true, true};
  int64_t in = channels;
  for (int i = 0; i < 5; ++i) {
    convs.emplace_back(in, widths[i], 3, fmt::format("features.{}", i),
                       same3x3(1), /*bias=*/false);
    norms.emplace_back(widths[i], fmt::format("bn.{}", i));
    poolAfter.push_back(pools[i]);
    in = widths[i];
  }
  if (size < 16)
    throw Error(fmt::format("Vgg: images of {}×{} are too small for four 2×2 "
                            "poolings",
                            size, size));
}

Params Vgg::init(uint64_t seed, const SparseInit &config) const {
  Rng rng(seed);
  Params params;
  for (size_t i = 0; i < convs.size(); ++i) {
    convs[i].init(params, rng, config);
    norms[i].init(params);
  }
  fc.init(params, rng, config);
  return params;
}

Params Vgg::initBuffers() const {
  Params buffers;
  for (const BatchNorm2d &n : norms)
    n.initBuffers(buffers);
  return buffers;
}

Tensor Vgg::forward(const Params &params, const Tensor &x,
                    const Mode &mode) const {
  Tensor h = asImages("Vgg", x, channels, size);
  for (size_t i = 0; i < convs.size(); ++i) {
    h = relu(norms[i](params, convs[i](params, h), mode));
    if (poolAfter[i])
      h = maxPool2d(h);
  }
  h = globalAvgPool2d(h);
  return fc(params, reshape(h, {h.dim(0), h.dim(1)}));
}

std::string Vgg::describe() const {
  return fmt::format("vgg {}x{}x{}, width {}", channels, size, size, width);
}

std::string MLP::describe() const {
  std::vector<int64_t> sizes = {layers_.front().in};
  for (const Linear &l : layers_)
    sizes.push_back(l.out);
  return fmt::format("mlp {}", fmt::join(sizes, "-"));
}

MLP::MLP(std::vector<int64_t> sizes) {
  if (sizes.size() < 2)
    throw Error("MLP: needs at least an input and an output size");
  for (size_t i = 0; i + 1 < sizes.size(); ++i)
    layers_.emplace_back(sizes[i], sizes[i + 1], fmt::format("fc{}", i + 1));
}

Params MLP::init(uint64_t seed, const SparseInit &config) const {
  Rng rng(seed);
  Params params;
  for (const Linear &layer : layers_)
    layer.init(params, rng, config);
  return params;
}

Tensor MLP::forward(const Params &params, const Tensor &x, const Mode &) const {
  Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    h = layers_[i](params, h);
    if (i + 1 < layers_.size())
      h = relu(h);
  }
  return h;
}

} // namespace bregman::nn
