// quickstart: your own small network, trained sparse from the start with
// LinBreg (l1) on Fashion-MNIST; prints test accuracy and weight density.
//
//   quickstart [--data DIR] [--epochs N] [--steps N]
//
// DIR holds the four IDX files (default: the dataset-fashion-mnist package's);
// --steps stops training after N steps (a quick check).
#include "bregman/bregman.h"
#include "bregman/data/Dataset.h"

#include <cstdio>
#include <string>

using namespace bregman;

int main(int argc, char **argv) {
  std::string dir = "/usr/share/datasets/fashion-mnist";
  long epochs = 5, maxSteps = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--data") dir = value;
    else if (flag == "--epochs") epochs = std::stol(value);
    else if (flag == "--steps") maxSteps = std::stol(value);
    else return std::fprintf(stderr, "unknown option %s\n", argv[i]), 2;
  }
  try {
    data::DataSplits ds = data::loadMnistLike(dir, {0.5, 0.5}, /*seed=*/0, 0.0);
    nn::Linear fc1(784, 256, "fc1"), fc2(256, 128, "fc2"), fc3(128, 10, "fc3");
    auto model = [&](const Params &p, const Tensor &x) {
      return fc3(p, relu(fc2(p, relu(fc1(p, x)))));
    };
    nn::Rng rng(0);
    Params params;
    for (const nn::Linear *layer : {&fc1, &fc2, &fc3})
      layer->init(params, rng, nn::SparseInit{0.01, 7.0}); // 1 % non-zero
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
    data::Batch b;
    long steps = 0;
    for (long e = 0; e < epochs && steps != maxSteps; ++e) {
      data::Batcher train(ds.train, 128, /*shuffle=*/true, /*seed=*/e);
      double lossSum = 0;
      long n = 0;
      for (; steps != maxSteps && train.next(b); ++steps, ++n) {
        auto [p, s, loss] = step(params, state, Tensor::fromVector(b.x, {b.size, 784}),
                                 Tensor::fromVector(b.y, {b.size}));
        params = p;
        state = s;
        lossSum += loss.item();
      }
      double right = 0;
      for (data::Batcher test(ds.test, 500, false, 0); test.next(b);)
        right += correct(params, Tensor::fromVector(b.x, {b.size, 784}),
                         Tensor::fromVector(b.y, {b.size})).item();
      std::printf("epoch %ld: %ld steps, loss %.4f, test accuracy %.2f %%, "
                  "density %.2f %%\n", e + 1, n, lossSum / (n ? n : 1),
                  100 * right / ds.test.count,
                  100 * SparsityMeter().measure(params).netDensity);
    }
  } catch (const std::exception &e) {
    return std::fprintf(stderr, "quickstart: %s\n", e.what()), 1;
  }
}
