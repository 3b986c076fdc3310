//===- DenseNet.h - The DenseNet of the architecture search -----*- C++ -*-===//
//
// Part of the model zoo: the DenseNet of NAS.md §1, whose convolution kernels
// are the groups of l1_l2_conv, so that training can switch off whole dense
// connections; and the report of which connections survive.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_MODELS_DENSENET_H
#define BREGMAN_MODELS_DENSENET_H

#include "bregman/nn.h"
#include "bregman/runtime/SafeWrite.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bregman::models {

/// Which dense connections keep non-zero kernels: for each convolution
/// (row) and each block of channels it could read (column), the fraction of
/// its kernels from that block that are non-zero; NaN where the convolution
/// does not read the block.
struct ConnectionMatrix {
  std::vector<std::string> layers;  // rows: the convolutions, in order
  std::vector<std::string> sources; // columns: "input", "stem", "dense1", ...
  std::vector<std::vector<double>> live;
  /// Connections (cells that are read) whose kernels are all zero.
  int64_t switchedOff() const;
  /// Connections that are read at all.
  int64_t connections() const;
};

/// NAS.md §1 for `channels`×`size`×`size` images: stem conv 3×3 channels →
/// growth (no bias); `layers` dense layers, layer i: conv 3×3 over all
/// channels so far → growth, bias, ReLU, concatenated to its input; a
/// transition layer of the same kind → 1 channel; the head reads only that
/// last channel: flatten, linear size² → classes (logits, no ReLU). Layers
/// "stem", "dense1".."denseN", "transition", "fc".
class DenseNet : public nn::Model {
public:
  explicit DenseNet(int64_t channels = 1, int64_t size = 28,
                    int64_t classes = 10, int64_t growth = 12,
                    int64_t layers = 5);
  /// The convolutions as the config says (kernel-sparse with perKernel);
  /// the head's weight always dense (p = 1) with the config's scale r, as in
  /// the reference experiment.
  Params init(uint64_t seed, const nn::SparseInit &config) const override;
  Tensor forward(const Params &params, const Tensor &x,
                 const nn::Mode &mode) const override;
  std::string describe() const override;
  nn::SparseFilters sparseFilters() const override;

  /// The connection matrix of `params` (read on the host).
  ConnectionMatrix connections(const Params &params) const;

private:
  int64_t channels, size, growth;
  nn::Conv2d stem;
  std::vector<nn::Conv2d> dense; // the dense layers, then the transition
  nn::Linear fc;
};

/// The matrix as a table: one row per convolution, percentages of live
/// kernels per source block, "-" where it does not read the block, and the
/// number of connections switched off.
std::string formatConnections(const ConnectionMatrix &matrix);

/// The matrix as a PNG picture (libpng): one square cell per entry (rows:
/// the convolutions, columns: the blocks they may read), white where no
/// kernel is live (a connection switched off), light to dark blue for a few
/// to all live, grey where the convolution does not read the block. Written atomically; throws a
/// WriteError naming `path` when it cannot be written.
void writeConnectionPng(const ConnectionMatrix &matrix, const std::string &path);
/// What writeConnectionPng may replace: its own pictures (their Software
/// text chunk), nothing else.
runtime::FileOwnershipCheck connectionPictures();

} // namespace bregman::models

#endif // BREGMAN_MODELS_DENSENET_H
