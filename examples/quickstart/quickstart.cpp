// quickstart: your own small network, trained sparse from the start with
// LinBreg (l1) on Fashion-MNIST; prints test accuracy and weight density.
//
//   quickstart [--data DIR] [--epochs N] [--steps N]
//
// DIR holds the four IDX files (default: the dataset-fashion-mnist package's);
// --steps stops training after N steps (a quick check).
#include "bregman/bregman.h"
#include "bregman/data/Dataset.h"

#include <algorithm>
#include <cstdio>
#include <string>

using namespace bregman;

/// The positive whole number `value` of `flag`, or an error naming both.
static long positive(const std::string &flag, const std::string &value) {
  std::size_t used = 0;
  long n = 0;
  try {
    n = std::stol(value, &used);
  } catch (const std::exception &) {
    used = 0;
  }
  if (used == 0 || used != value.size() || n < 1)
    throw Error(flag + " '" + value + "': expected a positive whole number");
  return n;
}

int main(int argc, char **argv) try {
  std::string dir = "/usr/share/datasets/fashion-mnist";
  long epochs = 5, maxSteps = -1;
  const char *usage = "usage: quickstart [--data DIR] [--epochs N] [--steps N]";
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i], value = i + 1 < argc ? argv[i + 1] : "";
    if (flag == "--help" || flag == "-h") {
      std::printf("%s\n", usage);
      return 0;
    }
    if (flag == "--data" && !value.empty()) dir = value;
    else if (flag == "--epochs" && !value.empty())
      epochs = positive(flag, value);
    else if (flag == "--steps" && !value.empty())
      maxSteps = positive(flag, value);
    else throw Error(usage);
  }
  data::DataSplits ds = data::loadMnistLike(dir, {0.5, 0.5}, /*seed=*/0, 0.0);
  // The network: 784-256-128-10 with ReLU, 1 % of the weights non-zero.
  nn::Linear fc1(784, 256, "fc1"), fc2(256, 128, "fc2"), fc3(128, 10, "fc3");
  auto model = [&](const Params &p, const Tensor &x) {
    return fc3(p, relu(fc2(p, relu(fc1(p, x)))));
  };
  nn::Rng rng(0);
  Params params;
  for (const nn::Linear *layer : {&fc1, &fc2, &fc3})
    layer->init(params, rng, nn::SparseInit{0.01, 7.0});
  // LinBreg: l1 (lambda 0.1) on the weights, lr 0.1, delta 1; biases free.
  optim::LinBreg opt({
      {"weights", optim::weights(), Regularizer::L1, 0.1f, 1.0f, 0.1f},
      {"biases", optim::biases(), Regularizer::None, 0.1f, 1.0f, 0.0f}});
  Params state = opt.init(params);
  auto step = jit(
      [&](const Params &p, const Params &s, const Tensor &x, const Tensor &y) {
        auto [loss, g] = valueAndGrad(
            [&](const Params &q) { return crossEntropy(model(q, x), y); })(p);
        auto [p2, s2] = opt.update(p, s, g);
        return std::make_tuple(p2, s2, loss);
      },
      JitOptions{/*donateArgnums=*/{0, 1}, "quickstart.step"});
  auto correct = jit([&](const Params &p, const Tensor &x, const Tensor &y) {
    return countCorrect(model(p, x), y);
  });
  auto images = [](const data::Batch &b) { return Tensor::fromVector(b.x, {b.size, 784}); };
  auto labels = [](const data::Batch &b) { return Tensor::fromVector(b.y, {b.size}); };
  SparsityMeter meter;
  data::Batch b;
  for (long e = 0, steps = 0; e < epochs && steps != maxSteps; ++e) {
    double lossSum = 0, right = 0;
    long n = 0;
    for (data::Batcher train(ds.train, 128, /*shuffle=*/true, /*seed=*/e);
         steps != maxSteps && train.next(b); ++steps, ++n) {
      auto [p, s, loss] = step(params, state, images(b), labels(b));
      params = p, state = s; // the same buffers: the old handles are consumed
      lossSum += loss.item();
    }
    for (data::Batcher test(ds.test, 500, /*shuffle=*/false, 0); test.next(b);)
      right += correct(params, images(b), labels(b)).item();
    std::printf("epoch %ld: %ld steps, loss %.4f, test accuracy %.2f %%, density %.2f %%\n",
                e + 1, n, lossSum / std::max(n, 1L), 100 * right / ds.test.count,
                100 * meter.measure(params).netDensity);
  }
} catch (const std::exception &e) {
  std::fprintf(stderr, "quickstart: %s\n", e.what());
  return 1;
}
