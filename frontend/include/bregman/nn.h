//===- nn.h - Layers and the sparse initialisation --------------*- C++ -*-===//
//
// Layers are stateless descriptions: `init` makes their Params (concrete,
// seeded), `operator()` applies them to Params and an input inside a traced
// function. Weights follow PyTorch's layout (out, in), so the rows of a
// weight are the incoming weights of one neuron (node sparsity = zero rows).
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_NN_H
#define BREGMAN_NN_H

#include "bregman/Error.h"
#include "bregman/Params.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bregman::nn {

/// The sparse initialisation of ALGORITHMS.md §4: a weight is non-zero with
/// probability p and then drawn from N(0, (r·√(2/fan_in))²); biases are
/// uniform(0, r0/√fan_in). p = 1 and r = 1 give dense Kaiming init.
struct SparseInit {
  double p = 0.01;
  double r = 7.0; // 0.7/√p in the reference experiments
  double biasScale = 1.0; // r0
  /// The group variant: ⌈rows·p⌉ rows chosen at random are non-zero (dense),
  /// the others zero — the initialisation for row-group regularisers.
  bool perRow = false;
  /// The same for convolutions: ⌈kernels·p⌉ of the k×k kernels are non-zero
  /// (the initialisation for l1_l2_conv); otherwise each weight on its own.
  bool perKernel = true;
};

/// Random source for initialisation (seeded: runs are reproducible).
using Rng = std::mt19937_64;

/// Throws an Error naming `name` unless 0 < p ≤ 1.
void checkSparseInit(const std::string &name, const SparseInit &config);
/// A weight of `shape` drawn as ALGORITHMS.md §4 says, for a layer with
/// `fanIn` inputs: with `perGroup`, ⌈groups·p⌉ of its groups of `groupSize`
/// consecutive elements (rows, kernels) are dense and the rest zero; else
/// each element is kept with probability p.
Tensor sparseWeight(const Shape &shape, int64_t fanIn, int64_t groupSize,
                    bool perGroup, Rng &rng, const SparseInit &config);
/// A bias uniform in [0, r0/√fanIn).
Tensor uniformBias(int64_t size, int64_t fanIn, Rng &rng, const SparseInit &config);

/// When the sparse execution of linear layers is chosen (--sparse-exec).
enum class SparseExec { Off, Auto, On };

/// The density below which `auto` runs a linear layer on its CSR: measured
/// with bench/sparse_bench (feature-major CSR against our dense GEMMs, the
/// MLP's layer shapes; docs/PERFORMANCE.md): at batch 128 the CSR was faster
/// up to 50 % for every shape, at batch 1 only below 5-10 %. Evaluation runs
/// at large batches; 0.3 stays below every batch-128 crossover measured.
constexpr double kSparseExecAutoDensity = 0.3;
/// The density below which `auto` runs a linear layer on its CSR in the
/// training step (forward and input gradient sparse, weight gradient dense,
/// the CSR compressed by each step into its outputs): bench/sparse_train_bench
/// measured the MLP's step at batch 128 1.49× faster on CSR at 1 %, 1.38-1.40×
/// at 5 %, 1.27-1.28× at 10 % and even at 30 % in each of three runs
/// (docs/PERFORMANCE.md); the widest layer's own step broke even at 30-50 %.
constexpr double kSparseExecTrainAutoDensity = 0.1;

/// The density (non-zero entries of the filter) below which `auto` runs a
/// convolution on its CSR pair where its crossover
/// cannot be measured (sparseConvCrossover: calibration switched off, the
/// GPU emulation, shapes beyond a calibration): bench/sparse_conv_bench
/// measured the ConvNet's conv2 (64→64, 5×5, 12×12, batch 128) forward with
/// its input gradient faster on CSR up to 20 % of the kernels alive (whole
/// kernels, so 20 % of the entries) and slower from 30 %
/// (docs/PERFORMANCE.md), the widest of the shapes measured.
constexpr double kSparseConvAutoDensity = 0.2;

/// A convolution filter that can run on its CSR pair: its layer's geometry
/// (strides, padding, dilation, groups) and, where known, the height and
/// width of the layer's input ({0, 0}: not known).
struct SparseFilter {
  Conv2dOptions options;
  std::array<int64_t, 2> inputSize{0, 0};
};

/// The convolution filters ("<layer>.weight") a model runs on their CSR
/// pair, by name.
using SparseFilters = std::map<std::string, SparseFilter>;

/// Sets each filter's `inputSize` to the height and width of the input it
/// is convolved with when `forward` runs: `forward` is traced (nothing is
/// computed or compiled) on leaves of the names, shapes and element types
/// of `inputs` (one Params per argument; the filters among the first one's
/// names). A filter that reaches conv2d through another operation, is
/// convolved with inputs of different sizes, or is not convolved keeps
/// {0, 0}.
void addFilterInputSizes(SparseFilters &filters, const std::vector<Params> &inputs,
                         const std::function<void(const std::vector<Params> &)> &forward);

/// A crossover density and where it came from: "measured" (just now),
/// "cached" (measured by an earlier run on this machine, same CPU model and
/// thread setting) or "fixed" (kSparseExecAutoDensity).
struct SparseCrossover {
  double density = kSparseExecAutoDensity;
  std::string source = "fixed";
};

/// The density below which a [rows, cols] linear layer applied to `batch`
/// inputs (x·Wᵀ, or x·W when not `transposeW`: an ONNX MatMul's weight) runs
/// faster on its CSR (in the form csrProduct takes) than on our dense GEMM,
/// on this machine. Measured at its first use (two small functions
/// compiled, the GEMM and the CSR form at densities 0.02 and 0.2 timed, a
/// line through the CSR's times; about half a second) and then cached, in
/// the process and in sparseCalibrationCachePath(). "fixed" when the batch
/// is unknown (≤ 0) or BREGMAN_SPARSE_CALIBRATION=off.
SparseCrossover sparseCrossover(int64_t rows, int64_t cols, int64_t batch,
                                bool transposeW = true);

/// The kernel density below which a convolution with this filter [O, C/g,
/// KH, KW] and geometry (`options`: its layer's strides, padding, dilation
/// and groups g) runs faster on its CSR pair than on oneDNN, on this machine:
/// its forward pass alone (evaluation, inference) or with the input
/// gradient (a training step).
/// Measured at its first use on samples of `inputSize` (the layer's input
/// height and width; 1 to 1024 of them, about 50 M multiply-adds a call) or,
/// when that is not known or a single sample would take more than 4 G
/// multiply-adds, on 16 to 1024 samples of 16·stride × 16·stride, with the
/// layer's padding; the dense convolution against the CSR one at 5 %, 30 %
/// and 100 % of the kernels alive, the crossing on the segment of the CSR's
/// times that passes the dense time (piecewiseCrossing); a second or a few;
/// then cached beside the linear layers' crossovers. Like every
/// timing, it is only as good as the machine is quiet while it measures
/// (delete the cache file to measure again).
/// Narrow filters gain most: oneDNN is slow on few output or input channels
/// (the DenseNet's 12 new channels per layer: faster on CSR up to 50–100 %
/// of the kernels, docs/PERFORMANCE.md). "fixed" (kSparseConvAutoDensity)
/// when BREGMAN_SPARSE_CALIBRATION=off or the shape is beyond what a
/// calibration measures (above 4 G multiply-adds per call at 16 samples of
/// 16×16, such as ResNet's 512→512 3×3; kernels above 16 or windows wider
/// than a calibration's samples).
SparseCrossover sparseConvCrossover(const std::array<int64_t, 4> &filter,
                                    const Conv2dOptions &options,
                                    bool withInputGradient,
                                    std::array<int64_t, 2> inputSize = {0, 0});
std::string sparseConvCalibrationKey(const std::array<int64_t, 4> &filter,
                                     const Conv2dOptions &options,
                                     bool withInputGradient,
                                     std::array<int64_t, 2> inputSize = {0, 0});

/// The density at which a CSR form's time, piecewise linear through its
/// times `csr[i]` at `densities[i]` (ascending), reaches `dense`'s: on the
/// first segment that ends above it (the first one extended below its
/// start; the last one extended, at most `most`, where none does). A
/// convolution's CSR time grows faster than its density, so a line through
/// the ends alone misplaces the crossing (docs/PERFORMANCE.md). Densities
/// that coincide (a filter of few kernels) count once; with one alone there
/// is no line: `most` if the CSR is faster there, else 0.
double piecewiseCrossing(double dense, const std::vector<double> &csr,
                         const std::vector<double> &densities, double most = 1.0);

/// The key of a crossover in the cache: this machine's CPU model, the thread
/// setting (OMP_NUM_THREADS, else the hardware threads), the library that
/// runs the dense x·Wᵀ here, and the shape.
std::string sparseCalibrationKey(int64_t rows, int64_t cols, int64_t batch,
                                 bool transposeW = true);

/// $BREGMAN_CACHE_DIR/sparse-crossover.json, else
/// ${XDG_CACHE_HOME:-$HOME/.cache}/bregman/sparse-crossover.json. A file that
/// does not parse is neither used nor replaced (a warning says so).
std::string sparseCalibrationCachePath();

/// The cache file's crossovers by key; throws an Error naming `origin` and
/// the problem for anything but {"version": 1, "crossovers": {key: density
/// in [0, 1], ...}}.
std::map<std::string, double>
parseSparseCalibrationCache(const std::string &text, const std::string &origin);

/// What `auto` decided for one weight (withCsrWeights).
struct SparseLayerDecision {
  std::string weight;
  double density = 0;
  SparseCrossover crossover;
  bool sparse = false;
};

/// "fc1.weight: density 0.0123 < crossover 0.41 (measured): CSR".
std::string describe(const SparseLayerDecision &decision);

/// The keys under which a linear layer's weight "<w>" finds its CSR in the
/// parameters ("<w>.csr.positions", ".coordinates", ".values").
std::array<std::string, 3> csrKeys(const std::string &weight);
/// A convolution's filter [O, C/g, KH, KW] "<w>" (g groups) has its CSR as
/// the matrix [O, (C/g)·KH·KW] under csrKeys and that of its transpose per
/// group [C, (O/g)·KH·KW] (the input gradient's) under these
/// ("<w>.csrt.positions", ...).
std::array<std::string, 3> filterColumnsKeys(const std::string &weight);
/// Adds a filter's CSR pair under those keys.
void addFilterCsr(Params &out, const std::string &weight, const CsrFilter &f);
/// The groups of filter "<weight>" (`dense`), read from its transposed
/// CSR's row count in `csr` (C + 1 positions); throws when that is missing
/// or no multiple of the filter's channels per group.
int64_t filterGroups(const Params &csr, const std::string &weight,
                     const Tensor &dense);
/// The CSR pair of filter "<weight>" from `params`, with `dense` (its
/// filter [O, C/g, KH, KW]) as CsrFilter::dense; none when a key is missing.
std::optional<CsrFilter> filterCsr(const Params &params,
                                   const std::string &weight,
                                   const Tensor &dense);

/// `params` plus the CSR (capacity rows·cols, so that the compiled
/// function's shapes do not change with the density) of every 2-D f32
/// ".weight" whose density is below the threshold of `policy` (Off: none;
/// On: all), under csrKeys. Linear layers then run on it (inference and
/// evaluation; concrete parameters only). The names of the weights that got
/// one go to `sparseLayers` when given.
///
/// `batch`: the number of inputs the layers will be applied to at a time;
/// `auto` compares each weight's density with sparseCrossover(rows, cols,
/// batch) (the fixed threshold when 0). `decisions`, when given, receives
/// every 2-D weight's density, crossover and choice.
///
/// `filters`: the 4-D ".weight"s (Model::sparseFilters()) that get the CSR
/// pair convolutions run on (under csrKeys and filterColumnsKeys; `auto`:
/// below sparseConvCrossover of the filter's shape and its layer's
/// geometry, with the input gradient when `batch` is 0, the training
/// step); none when null.
Params withCsrWeights(const Params &params, SparseExec policy,
                      std::vector<std::string> *sparseLayers = nullptr,
                      int64_t batch = 0,
                      std::vector<SparseLayerDecision> *decisions = nullptr,
                      double fixedDensity = kSparseExecAutoDensity,
                      const SparseFilters *filters = nullptr);

/// Only the CSR entries withCsrWeights would add (the training step's
/// carried CSR state, built on the host before the first step); the same
/// arguments.
Params csrWeights(const Params &params, SparseExec policy,
                  std::vector<std::string> *sparseLayers = nullptr,
                  int64_t batch = 0,
                  std::vector<SparseLayerDecision> *decisions = nullptr,
                  double fixedDensity = kSparseExecAutoDensity,
                  const SparseFilters *filters = nullptr);

/// Inside a traced step: the CSR of every weight of `params` that has one in
/// `csr` (same keys), computed from the weight by the compiled step itself
/// (compressRowsInTrace), for the next step's sparse layers.
Params recompressWeights(const Params &params, const Params &csr);

/// y = x·Wᵀ + b with W of shape (out, in), on x [..., in] (a batch of
/// vectors, or of sequences: the leading axes are rows of one GEMM); for a
/// 2-D x on W's CSR when the parameters hold one (withCsrWeights): W·xᵀ on
/// the sparsifier's loops, transposed.
class Linear {
public:
  /// Throws Error unless both sizes are positive (a width of 0 gave
  /// infinite biases, its fan-in's bound 1/√0).
  Linear(int64_t in, int64_t out, std::string name)
      : in(in), out(out), name(std::move(name)) {
    if (in < 1 || out < 1)
      throw Error("nn::Linear '" + this->name +
                  "': in and out must be positive, got " + std::to_string(in) +
                  " and " + std::to_string(out));
  }
  /// Adds "<name>.weight" and "<name>.bias" to `params`.
  void init(Params &params, Rng &rng, const SparseInit &config) const;
  Tensor operator()(const Params &params, const Tensor &x,
                    SourceLocation loc = SourceLocation::current()) const;

  int64_t in, out;
  std::string name;
};

/// y = conv2d(x, W) + b with W of shape (out, in/groups, kh, kw) (PyTorch's
/// layout: a kernel W[o, i] is the k×k filter from input channel i to output
/// channel o, the group of l1_l2_conv and of kernel density).
class Conv2d {
public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, std::string name,
         Conv2dOptions options = {}, bool bias = true)
      : in(in), out(out), kernel(kernel), name(std::move(name)),
        options(options), bias(bias) {}
  /// Adds "<name>.weight" and "<name>.bias" to `params`; fan_in is
  /// in/groups·k·k.
  void init(Params &params, Rng &rng, const SparseInit &config) const;
  Tensor operator()(const Params &params, const Tensor &x,
                    SourceLocation loc = SourceLocation::current()) const;
  /// Whether it runs on its filter's CSR pair when the parameters hold one
  /// (sparseConv2dFits: padding ≤ dilation·(K − 1); any strides and groups).
  bool runsSparse() const;
  /// Adds "<name>.weight" and its geometry to `filters` when runsSparse().
  void addSparseFilter(SparseFilters &filters) const;

  int64_t in, out, kernel;
  std::string name;
  Conv2dOptions options;
  bool bias; // "<name>.bias"; convolutions before batch norm have none
};

/// nn.Upsample with an integer scale factor on images [N, C, H, W]:
/// nearest (PyTorch's: asymmetric, floor), or bilinear with or without
/// align_corners. No parameters.
class Upsample {
public:
  explicit Upsample(int64_t factor, ResizeMode mode = ResizeMode::Nearest,
                    bool alignCorners = false)
      : factor(factor), mode(mode), alignCorners(alignCorners) {}
  Tensor operator()(const Tensor &x) const { return upsample2d(x, factor, mode, alignCorners); }

  int64_t factor;
  ResizeMode mode;
  bool alignCorners;
};

/// nn.LSTM and nn.GRU, one layer, one direction: parameters
/// "<name>.weight_ih" [G·H, I], "<name>.weight_hh" [G·H, H],
/// "<name>.bias_ih", "<name>.bias_hh" [G·H] with PyTorch's names and gate
/// order (G = 4: i, f, g, o; G = 3: r, z, n; the GRU's linear_before_reset
/// form). Input [N, T, I] with `batchFirst`, else [T, N, I]; the result's
/// y is in the same layout, h (and c) are [N, H]. Weights start as
/// `sparseWeight` with fan-in I (resp. H) and rows as groups, biases as
/// `uniformBias`.
class Recurrent {
public:
  Recurrent(int64_t in, int64_t hidden, std::string name, bool batchFirst, int64_t gates)
      : in(in), hidden(hidden), name(std::move(name)), batchFirst(batchFirst), gates(gates) {}
  void init(Params &params, Rng &rng, const SparseInit &config) const;

  int64_t in, hidden;
  std::string name;
  bool batchFirst;
  int64_t gates;

protected:
  /// The input time-first, checked against [.., .., in].
  Tensor timeFirst(const Tensor &x) const;
  RecurrentWeights weights(const Params &params) const;
  /// y back to the input's layout.
  RecurrentResult laidOut(RecurrentResult r) const;
};
class LSTM : public Recurrent {
public:
  LSTM(int64_t in, int64_t hidden, std::string name, bool batchFirst = true)
      : Recurrent(in, hidden, std::move(name), batchFirst, 4) {}
  RecurrentResult operator()(const Params &params, const Tensor &x) const;
};
class GRU : public Recurrent {
public:
  GRU(int64_t in, int64_t hidden, std::string name, bool batchFirst = true)
      : Recurrent(in, hidden, std::move(name), batchFirst, 3) {}
  RecurrentResult operator()(const Params &params, const Tensor &x) const;
};

/// How a forward pass runs. Training: batch normalization uses the batch's
/// statistics and writes the updated running statistics into `updated`.
/// Evaluation: it uses the running statistics in `buffers`.
struct Mode {
  bool training = false;
  const Params *buffers = nullptr;
  Params *updated = nullptr;
  /// Dropout's i32 scalar seed (e.g. the step number); layers with a
  /// dropout rate apply it only in training and when this is defined.
  Tensor dropoutSeed;
};

/// A network: its parameters' initialisation and its forward pass on a batch
/// of flattened inputs [N, features] (images are reshaped inside).
class Model {
public:
  virtual ~Model() = default;
  virtual Params init(uint64_t seed, const SparseInit &config) const = 0;
  /// State that is not trained (running statistics of batch normalization):
  /// what a training step takes and returns besides the parameters.
  virtual Params initBuffers() const { return {}; }
  virtual Tensor forward(const Params &params, const Tensor &x,
                         const Mode &mode) const = 0;
  /// Evaluation without buffers (models without batch normalization).
  Tensor operator()(const Params &params, const Tensor &x,
                    SourceLocation loc = SourceLocation::current()) const {
    CallSite site(loc);
    return forward(params, x, Mode{});
  }
  /// E.g. "mlp 784-200-80-10".
  virtual std::string describe() const = 0;
  /// The convolution filters ("<layer>.weight") this model runs on their
  /// CSR pair when the parameters hold one (Conv2d::runsSparse), each with
  /// its layer's geometry: csrWeights builds CSRs for these filters only
  /// (and measures their crossovers at that geometry). None by default.
  virtual SparseFilters sparseFilters() const { return {}; }
  /// The weight ("<layer>.weight") of the linear layer that reads the
  /// model's input [N, features] as it comes (x·Wᵀ), or "" when no layer
  /// does. On its CSR that layer runs feature-major and transposes the
  /// input first; the Trainer then hands the training step its batches as
  /// [features, N], written so by the loader, and the transposes cancel.
  virtual std::string inputLinearWeight() const { return ""; }
};

/// Batch normalization over (N, H, W) per channel, with a learned scale and
/// shift ("<name>.scale", "<name>.shift": unregularized, outside the weight
/// densities) and running statistics ("<name>.running_mean", "_var"; the
/// variance unbiased) updated with `momentum` as PyTorch does.
class BatchNorm2d {
public:
  BatchNorm2d(int64_t channels, std::string name, double momentum = 0.1,
              double eps = 1e-5)
      : channels(channels), name(std::move(name)), momentum(momentum),
        eps(eps) {}
  void init(Params &params) const;
  void initBuffers(Params &buffers) const;
  Tensor operator()(const Params &params, const Tensor &x, const Mode &mode,
                    SourceLocation loc = SourceLocation::current()) const;

  int64_t channels;
  std::string name;
  double momentum, eps;
};

//===----------------------------------------------------------------------===//
// Transformer layers (issue 18). Sequences are batch-first [N, S, E].
//===----------------------------------------------------------------------===//

/// Layer normalization over the last axis (width E) with a learned scale
/// ("<name>.scale", ones) and shift ("<name>.shift", zeros): unregularized,
/// as batch norm's. The variance is biased, as PyTorch's nn.LayerNorm.
class LayerNorm {
public:
  LayerNorm(int64_t width, std::string name, double eps = 1e-5)
      : width(width), name(std::move(name)), eps(eps) {}
  void init(Params &params) const;
  Tensor operator()(const Params &params, const Tensor &x) const;

  int64_t width;
  std::string name;
  double eps;
};

/// A trainable lookup table "<name>.weight" [count, width]: i32 indices of
/// any shape -> indices.shape + [width]. The table is a weight (regularized,
/// counted in the densities; with row groups a row is one token's vector).
/// Initialised N(0, r²) (r = 1, dense: PyTorch's N(0, 1)), sparse as
/// SparseInit says (perRow: whole rows).
class Embedding {
public:
  Embedding(int64_t count, int64_t width, std::string name)
      : count(count), width(width), name(std::move(name)) {}
  void init(Params &params, Rng &rng, const SparseInit &config) const;
  Tensor operator()(const Params &params, const Tensor &indices) const;

  int64_t count, width;
  std::string name;
};

/// Multi-head self-attention on x [N, S, E] with `heads` heads of
/// d = E/heads: softmax(q·kᵀ/√d + mask)·v per head, heads joined and
/// projected. The projection weights keep the head as their first axis so
/// that one head is one group of l1_l2_heads:
///   "<name>.{q,k,v}.weight" [heads, d, E]: PyTorch's in_proj rows
///       h·d .. h·d + d − 1 of each of q, k, v (its [E, E] reshaped);
///   "<name>.out.weight" [heads, d, E]: the transpose of PyTorch's
///       out_proj.weight (its columns h·d .. h·d + d − 1 are head h's);
///   "<name>.{q,k,v,out}.bias" [E].
/// `mask` (optional) is added to the scores [N, heads, S, S] (NumPy
/// broadcasting, e.g. [S, S]; −∞ excludes a position).
class MultiHeadAttention {
public:
  MultiHeadAttention(int64_t width, int64_t heads, std::string name);
  void init(Params &params, Rng &rng, const SparseInit &config) const;
  Tensor operator()(const Params &params, const Tensor &x,
                    const Tensor &mask = {}) const;
  /// Heads whose four weight slices are not all zero (a switched-off head
  /// contributes only the biases).
  int64_t activeHeads(const Params &params) const;

  int64_t width, heads, headDim;
  std::string name;
};

/// PyTorch's nn.TransformerEncoderLayer (batch_first, norm_first = False):
///   x = norm1(x + dropout(attn(x)));  x = norm2(x + dropout(ff(x)))
/// with ff = linear2(dropout(act(linear1(x)))), act GELU (erf) or ReLU.
/// Parameters "<name>.attn.*", "<name>.linear1/2.*", "<name>.norm1/2.*".
/// Dropout applies in training when the Mode carries a seed.
class TransformerEncoderLayer {
public:
  enum class Activation { Gelu, Relu };
  TransformerEncoderLayer(int64_t width, int64_t heads, int64_t feedforward,
                          std::string name,
                          Activation activation = Activation::Gelu,
                          double dropout = 0.0);
  void init(Params &params, Rng &rng, const SparseInit &config) const;
  Tensor operator()(const Params &params, const Tensor &x, const Mode &mode,
                    const Tensor &mask = {}) const;

  MultiHeadAttention attn;
  Linear linear1, linear2;
  LayerNorm norm1, norm2;
  Activation activation;
  double dropout;
  std::string name;
};

} // namespace bregman::nn

#endif // BREGMAN_NN_H
