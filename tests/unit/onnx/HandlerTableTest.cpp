//===- HandlerTableTest.cpp - Every operator of the importer's table ------===//
//
// For every op type the importer's table lists (onnx::supportedOps()), a
// tiny model with that operator is built with the onnx protobuf classes,
// imported, compiled and run, and its output compared with a reference the
// test computes in double precision (or obvious values). An op type added
// to the table without a case here fails the test. Then `unsupported()`
// against `apply`: a node the importer refuses (an operator outside the
// table, an attribute or shape a handler rejects) is reported with the
// reason `apply` throws. Each entry starts at its operator's first version.
//
//===----------------------------------------------------------------------===//

#include "bregman/bregman.h"
#include "ModelCase.h"
#include "RecurrentReference.h"
#include "bregman/onnx/OnnxModel.h"

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

namespace fs = std::filesystem;
using namespace bregman;
using bregman::onnx::OnnxModel;
using bregman::onnx::ParamRole;

namespace {

using Case = bregman::testing::ModelCase;
constexpr auto setInt = bregman::testing::setIntAttr;
constexpr auto setFloat = bregman::testing::setFloatAttr;
constexpr auto setInts = bregman::testing::setIntsAttr;

/// 0.1·(i+1)·(−1)^i: signs mixed, no ties.
std::vector<float> values(int n, float scale = 0.1f) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i)
    v[i] = scale * static_cast<float>(i + 1) * (i % 2 ? -1.0f : 1.0f);
  return v;
}
std::vector<float> positives(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i)
    v[i] = 0.25f * static_cast<float>(i + 1);
  return v;
}
std::vector<double> mapped(const std::vector<float> &x, const std::function<double(double)> &f) {
  std::vector<double> out;
  for (float v : x)
    out.push_back(f(v));
  return out;
}
std::vector<double> asDouble(const std::vector<float> &x) { return {x.begin(), x.end()}; }

/// y = f(x) on x[2, 3].
Case unary(const std::string &op, const std::vector<float> &x,
           const std::function<double(double)> &f) {
  Case c;
  c.input("x", {2, 3}, x).node(op, {"x"});
  c.output("y", {2, 3}, mapped(x, f));
  return c;
}

/// y = x ∘ b, x[2, 3] and b[3] broadcast along the rows.
Case binary(const std::string &op, const std::function<double(double, double)> &f) {
  Case c;
  std::vector<float> x = values(6), b = {0.5f, -2.0f, 4.0f};
  c.input("x", {2, 3}, x).weight("b", {3}, b).node(op, {"x", "b"});
  std::vector<double> y;
  for (int i = 0; i < 6; ++i)
    y.push_back(f(x[i], b[i % 3]));
  c.output("y", {2, 3}, y);
  return c;
}

/// Direct convolution in double: x[N, C, H, W], w[O, C, K, K], stride s,
/// symmetric padding p.
std::vector<double> convReference(const std::vector<float> &x, const Shape &xs,
                                  const std::vector<float> &w, const Shape &ws,
                                  const std::vector<float> &bias, int64_t s, int64_t p,
                                  Shape &out) {
  int64_t n = xs[0], c = xs[1], h = xs[2], wd = xs[3], o = ws[0], k = ws[2];
  int64_t oh = (h + 2 * p - k) / s + 1, ow = (wd + 2 * p - k) / s + 1;
  out = {n, o, oh, ow};
  std::vector<double> y;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t f = 0; f < o; ++f)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = bias.empty() ? 0.0 : bias[f];
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t u = 0; u < k; ++u)
              for (int64_t v = 0; v < k; ++v) {
                int64_t r = i * s - p + u, q = j * s - p + v;
                if (r >= 0 && r < h && q >= 0 && q < wd)
                  acc += double(x[((b * c + ch) * h + r) * wd + q]) *
                         double(w[((f * c + ch) * k + u) * k + v]);
              }
          y.push_back(acc);
        }
  return y;
}

/// 2-D pooling over x[1, 1, H, W] in double: max, or the mean of the window
/// cells inside the image (count_include_pad = 0).
std::vector<double> poolReference(const std::vector<float> &x, int64_t h, int64_t w,
                                  int64_t k, int64_t s, int64_t p, bool isMax, Shape &out) {
  int64_t oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
  out = {1, 1, oh, ow};
  std::vector<double> y;
  for (int64_t i = 0; i < oh; ++i)
    for (int64_t j = 0; j < ow; ++j) {
      double acc = isMax ? -INFINITY : 0.0;
      int cells = 0;
      for (int64_t u = 0; u < k; ++u)
        for (int64_t v = 0; v < k; ++v) {
          int64_t r = i * s - p + u, q = j * s - p + v;
          if (r < 0 || r >= h || q < 0 || q >= w)
            continue;
          double e = x[r * w + q];
          acc = isMax ? std::max(acc, e) : acc + e;
          ++cells;
        }
      y.push_back(isMax ? acc : acc / cells);
    }
  return y;
}

Case gemmCase() {
  // y = 0.5·A·Bᵀ + 2·C, A[2, 3], B[4, 3], C[4].
  Case c;
  std::vector<float> a = values(6), b = values(12, 0.05f), bias = {1, -1, 0.5f, 2};
  c.input("a", {2, 3}, a).weight("B", {4, 3}, b).weight("C", {4}, bias);
  auto &n = c.node("Gemm", {"a", "B", "C"});
  setInt(n, "transB", 1);
  setFloat(n, "alpha", 0.5f);
  setFloat(n, "beta", 2.0f);
  std::vector<double> y;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      double acc = 0;
      for (int k = 0; k < 3; ++k)
        acc += double(a[i * 3 + k]) * b[j * 3 + k];
      y.push_back(0.5 * acc + 2.0 * bias[j]);
    }
  c.output("y", {2, 4}, y);
  return c;
}

/// Attention's scores as torch.einsum writes them, against a weight:
/// y[b, i, k] = Σ_j a[b, i, j]·B[k, j] (EinsumImportTest.cpp has the rest).
Case einsumCase() {
  Case c;
  std::vector<float> a = values(24), b = values(8, 0.05f);
  c.input("a", {2, 3, 4}, a).weight("B", {2, 4}, b);
  bregman::testing::addAttr(c.node("Einsum", {"a", "B"}), "equation",
                            ::onnx::AttributeProto::STRING)
      ->set_s("bij,kj->bik");
  std::vector<double> y;
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 2; ++k) {
        double acc = 0;
        for (int j = 0; j < 4; ++j)
          acc += double(a[(n * 3 + i) * 4 + j]) * b[k * 4 + j];
        y.push_back(acc);
      }
  c.output("y", {2, 3, 2}, y);
  return c;
}

Case matMulCase() {
  Case c;
  std::vector<float> a = values(6), b = values(12, 0.05f);
  c.input("a", {2, 3}, a).weight("B", {3, 4}, b).node("MatMul", {"a", "B"});
  std::vector<double> y;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      double acc = 0;
      for (int k = 0; k < 3; ++k)
        acc += double(a[i * 3 + k]) * b[k * 4 + j];
      y.push_back(acc);
    }
  c.output("y", {2, 4}, y);
  return c;
}

Case convCase() {
  // x[1, 2, 5, 5], w[3, 2, 3, 3], bias, stride 2, padding 1.
  Case c;
  std::vector<float> x = values(50), w = values(54, 0.02f), bias = {0.1f, -0.2f, 0.3f};
  c.input("x", {1, 2, 5, 5}, x).weight("w", {3, 2, 3, 3}, w).weight("b", {3}, bias);
  auto &n = c.node("Conv", {"x", "w", "b"});
  setInts(n, "strides", {2, 2});
  setInts(n, "pads", {1, 1, 1, 1});
  Shape out;
  std::vector<double> y = convReference(x, {1, 2, 5, 5}, w, {3, 2, 3, 3}, bias, 2, 1, out);
  c.output("y", out, y);
  return c;
}

Case convTransposeCase() {
  // x[1, 2, 2, 2], w[2, 1, 2, 2], stride 2: each input cell scatters its
  // kernel into its own 2×2 block of y[1, 1, 4, 4].
  Case c;
  std::vector<float> x = values(8), w = values(8, 0.3f);
  c.input("x", {1, 2, 2, 2}, x).weight("w", {2, 1, 2, 2}, w);
  setInts(c.node("ConvTranspose", {"x", "w"}), "strides", {2, 2});
  std::vector<double> y(16, 0.0);
  for (int ch = 0; ch < 2; ++ch)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        for (int u = 0; u < 2; ++u)
          for (int v = 0; v < 2; ++v)
            y[(2 * i + u) * 4 + 2 * j + v] +=
                double(x[(ch * 2 + i) * 2 + j]) * w[(ch * 2 + u) * 2 + v];
  c.output("y", {1, 1, 4, 4}, y);
  return c;
}

Case poolCase(const std::string &op) {
  // MaxPool: kernel 2, stride 2; AveragePool: kernel 3, stride 1, padding 1
  // (padded cells not counted).
  bool isMax = op == "MaxPool";
  Case c;
  std::vector<float> x = values(16);
  c.input("x", {1, 1, 4, 4}, x);
  auto &n = c.node(op, {"x"});
  int64_t k = isMax ? 2 : 3, s = isMax ? 2 : 1, p = isMax ? 0 : 1;
  setInts(n, "kernel_shape", {k, k});
  setInts(n, "strides", {s, s});
  setInts(n, "pads", {p, p, p, p});
  Shape out;
  std::vector<double> y = poolReference(x, 4, 4, k, s, p, isMax, out);
  c.output("y", out, y);
  return c;
}

Case globalAveragePoolCase() {
  Case c;
  std::vector<float> x = values(8);
  c.input("x", {1, 2, 2, 2}, x).node("GlobalAveragePool", {"x"});
  double a = 0, b = 0;
  for (int i = 0; i < 4; ++i) {
    a += x[i];
    b += x[4 + i];
  }
  c.output("y", {1, 2, 1, 1}, {a / 4, b / 4});
  return c;
}

Case globalMaxPoolCase() {
  Case c;
  std::vector<float> x = values(8);
  c.input("x", {1, 2, 2, 2}, x).node("GlobalMaxPool", {"x"});
  c.output("y", {1, 2, 1, 1},
           {*std::max_element(x.begin(), x.begin() + 4),
            *std::max_element(x.begin() + 4, x.end())});
  return c;
}

Case batchNormCase() {
  Case c;
  std::vector<float> x = values(8), scale = {2, 0.5f}, shift = {0.1f, -0.1f},
                     mean = {0.2f, -0.3f}, var = {1.5f, 0.25f};
  c.input("x", {1, 2, 2, 2}, x)
      .weight("s", {2}, scale)
      .weight("t", {2}, shift)
      .weight("m", {2}, mean)
      .weight("v", {2}, var)
      .node("BatchNormalization", {"x", "s", "t", "m", "v"});
  std::vector<double> y;
  for (int i = 0; i < 8; ++i) {
    int ch = i / 4;
    y.push_back((x[i] - mean[ch]) / std::sqrt(double(var[ch]) + 1e-5) * scale[ch] + shift[ch]);
  }
  c.output("y", {1, 2, 2, 2}, y);
  return c;
}

Case softmaxCase(bool log) {
  Case c;
  std::vector<float> x = values(6);
  c.input("x", {2, 3}, x).node(log ? "LogSoftmax" : "Softmax", {"x"});
  std::vector<double> y;
  for (int r = 0; r < 2; ++r) {
    double total = 0;
    for (int k = 0; k < 3; ++k)
      total += std::exp(double(x[r * 3 + k]));
    for (int k = 0; k < 3; ++k) {
      double p = std::exp(double(x[r * 3 + k])) / total;
      y.push_back(log ? std::log(p) : p);
    }
  }
  c.output("y", {2, 3}, y);
  return c;
}

Case clipCase() {
  Case c;
  std::vector<float> x = values(6, 0.3f);
  c.input("x", {2, 3}, x).weight("lo", {}, {-0.5f}).weight("hi", {}, {0.7f});
  c.node("Clip", {"x", "lo", "hi"});
  c.output("y", {2, 3}, mapped(x, [](double v) { return std::clamp(v, -0.5, 0.7); }));
  return c;
}

/// Max, Min, Sum, Mean of x, z [2, 3] and w [3] (broadcast).
Case maxMinCase(const std::string &op) {
  Case c;
  std::vector<float> x = values(6), z = values(6, -0.15f),
                     w = {0.5f, -0.5f, 0.25f};
  c.input("x", {2, 3}, x).input("z", {2, 3}, z).input("w", {3}, w);
  c.node(op, {"x", "z", "w"});
  std::vector<double> y;
  for (int i = 0; i < 6; ++i) {
    double a = x[i], b = z[i], d = w[i % 3];
    y.push_back(op == "Max"   ? std::max({a, b, d})
                : op == "Min" ? std::min({a, b, d})
                : op == "Sum" ? a + b + d
                              : (a + b + d) / 3);
  }
  c.output("y", {2, 3}, y);
  return c;
}

Case powCase() {
  Case c;
  std::vector<float> x = values(6);
  c.input("x", {2, 3}, x).weight("e", {}, {3.0f}).node("Pow", {"x", "e"});
  c.output("y", {2, 3}, mapped(x, [](double v) { return v * v * v; }));
  return c;
}

Case modCase() {
  // Float constants folded (fmod = 1: the dividend's sign), added to x.
  Case c;
  std::vector<float> x = values(6), a = {5.5f, -5.5f, 7.0f}, b = {2.0f, 2.0f, -3.0f};
  c.input("x", {2, 3}, x).weight("a", {3}, a).weight("b", {3}, b);
  setInt(c.node("Mod", {"a", "b"}, {"m"}), "fmod", 1);
  c.node("Add", {"x", "m"});
  std::vector<double> y;
  for (int i = 0; i < 6; ++i)
    y.push_back(x[i] + std::fmod(double(a[i % 3]), double(b[i % 3])));
  c.output("y", {2, 3}, y);
  return c;
}

Case reduceCase(const std::string &op) {
  // Over axis 1 of x[2, 3], keepdims 0; ReduceSum takes its axes as an
  // input from opset 13, the others as an attribute.
  Case c;
  // (A log of a sum needs a positive one.)
  std::vector<float> x = op == "ReduceLogSum" ? positives(6) : values(6);
  c.input("x", {2, 3}, x);
  if (op == "ReduceSum") {
    c.ints("axes", {1});
    setInt(c.node(op, {"x", "axes"}), "keepdims", 0);
  } else {
    auto &n = c.node(op, {"x"});
    setInts(n, "axes", {1});
    setInt(n, "keepdims", 0);
  }
  std::vector<double> y;
  for (int r = 0; r < 2; ++r) {
    double s = 0, mx = -INFINITY, mn = INFINITY, l1 = 0, squares = 0, exps = 0;
    for (int k = 0; k < 3; ++k) {
      double v = x[r * 3 + k];
      s += v;
      mx = std::max(mx, v);
      mn = std::min(mn, v);
      l1 += std::abs(v);
      squares += v * v;
      exps += std::exp(v);
    }
    y.push_back(op == "ReduceSum"         ? s
                : op == "ReduceMean"      ? s / 3
                : op == "ReduceMax"       ? mx
                : op == "ReduceMin"       ? mn
                : op == "ReduceL1"        ? l1
                : op == "ReduceL2"        ? std::sqrt(squares)
                : op == "ReduceSumSquare" ? squares
                : op == "ReduceLogSum"    ? std::log(s)
                                          : std::log(exps));
  }
  c.output("y", {2}, y);
  return c;
}

/// x[2, 3] passed through unchanged by `op`.
Case passThrough(const std::string &op) {
  Case c;
  std::vector<float> x = values(6);
  c.input("x", {2, 3}, x);
  auto &n = c.node(op, {"x"});
  if (op == "Cast")
    setInt(n, "to", ::onnx::TensorProto::FLOAT);
  c.output("y", {2, 3}, asDouble(x));
  return c;
}

Case constantCase() {
  Case c;
  std::vector<float> x = values(3), k = {1.5f, -2.5f, 4.0f};
  c.input("x", {3}, x);
  auto &n = c.node("Constant", {}, {"k"});
  auto *a = bregman::testing::addAttr(n, "value", ::onnx::AttributeProto::TENSOR);
  Case::floatTensor(a->mutable_t(), "", {3}, k);
  c.node("Add", {"x", "k"});
  c.output("y", {3}, {x[0] + 1.5, x[1] - 2.5, x[2] + 4.0});
  return c;
}

Case flattenCase() {
  Case c;
  std::vector<float> x = values(12);
  c.input("x", {2, 3, 2}, x).node("Flatten", {"x"});
  c.output("y", {2, 6}, asDouble(x));
  return c;
}

Case reshapeCase() {
  Case c;
  std::vector<float> x = values(12);
  c.input("x", {2, 6}, x).ints("shape", {3, -1}).node("Reshape", {"x", "shape"});
  c.output("y", {3, 4}, asDouble(x));
  return c;
}

Case transposeCase() {
  Case c;
  std::vector<float> x = values(6);
  c.input("x", {2, 3}, x);
  setInts(c.node("Transpose", {"x"}), "perm", {1, 0});
  c.output("y", {3, 2}, {x[0], x[3], x[1], x[4], x[2], x[5]});
  return c;
}

Case concatCase() {
  Case c;
  std::vector<float> x = values(4), z = values(6, 0.7f);
  c.input("x", {2, 2}, x).input("z", {2, 3}, z);
  setInt(c.node("Concat", {"x", "z"}), "axis", 1);
  c.output("y", {2, 5}, {x[0], x[1], z[0], z[1], z[2], x[2], x[3], z[3], z[4], z[5]});
  return c;
}

Case squeezeCase(const std::string &op) {
  // Squeeze x[2, 1, 3] at axis 1; Unsqueeze x[2, 3] at axis 0 (axes an
  // input from opset 13).
  Case c;
  std::vector<float> x = values(6);
  bool squeeze = op == "Squeeze";
  c.input("x", squeeze ? Shape{2, 1, 3} : Shape{2, 3}, x).ints("axes", {squeeze ? 1 : 0});
  c.node(op, {"x", "axes"});
  c.output("y", squeeze ? Shape{2, 3} : Shape{1, 2, 3}, asDouble(x));
  return c;
}

/// PixelShuffle's export (CRD): y[n, c, h·2 + i, w·2 + j] = x[n, c·4 + i·2 + j,
/// h, w]; then SpaceToDepth (DCR's inverse): z[n, (i·2 + j)·C + c, h, w] = y[n,
/// c, h·2 + i, w·2 + j].
Case depthToSpaceCase(bool andBack) {
  Case c;
  std::vector<float> x = values(2 * 8 * 2 * 3);
  c.input("x", {2, 8, 2, 3}, x);
  auto &d2s = c.node("DepthToSpace", {"x"}, {andBack ? "s" : "y"});
  bregman::testing::setIntAttr(d2s, "blocksize", 2);
  bregman::testing::addAttr(d2s, "mode", ::onnx::AttributeProto::STRING)
      ->set_s("CRD");
  std::vector<double> y(x.size());
  for (int n = 0; n < 2; ++n)
    for (int ch = 0; ch < 2; ++ch)
      for (int h = 0; h < 4; ++h)
        for (int w = 0; w < 6; ++w)
          y[((n * 2 + ch) * 4 + h) * 6 + w] =
              x[((n * 8 + ch * 4 + (h % 2) * 2 + w % 2) * 2 + h / 2) * 3 +
                w / 2];
  if (!andBack) {
    c.output("y", {2, 2, 4, 6}, y);
    return c;
  }
  bregman::testing::setIntAttr(c.node("SpaceToDepth", {"s"}), "blocksize", 2);
  std::vector<double> z(x.size());
  for (int n = 0; n < 2; ++n)
    for (int ch = 0; ch < 2; ++ch)
      for (int h = 0; h < 4; ++h)
        for (int w = 0; w < 6; ++w)
          z[((n * 8 + ((h % 2) * 2 + w % 2) * 2 + ch) * 2 + h / 2) * 3 +
            w / 2] = y[((n * 2 + ch) * 4 + h) * 6 + w];
  c.output("y", {2, 8, 2, 3}, z);
  return c;
}

/// x[2, 3] repeated [2, 3] times; Size of the result (36), cast to float and
/// added.
Case tileCase() {
  Case c;
  std::vector<float> x = values(6);
  c.input("x", {2, 3}, x).ints("repeats", {2, 3});
  c.node("Tile", {"x", "repeats"}, {"t"});
  c.node("Size", {"t"}, {"n"});
  bregman::testing::setIntAttr(c.node("Cast", {"n"}, {"nf"}), "to",
                               ::onnx::TensorProto::FLOAT);
  c.node("Add", {"t", "nf"});
  std::vector<double> y;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 9; ++j)
      y.push_back(double(x[(i % 2) * 3 + j % 3]) + 36.0);
  c.output("y", {4, 9}, y);
  return c;
}

Case shapeCase() {
  // z[3, 2] reshaped to Shape(x) = [2, 3].
  Case c;
  std::vector<float> x = values(6), z = values(6, 0.2f);
  c.input("x", {2, 3}, x).input("z", {3, 2}, z);
  c.node("Shape", {"x"}, {"s"});
  c.node("Reshape", {"z", "s"});
  c.output("y", {2, 3}, asDouble(z));
  return c;
}

Case gatherCase() {
  // x[2, 6] reshaped to Shape(x)[[1, 0]] = [6, 2].
  Case c;
  std::vector<float> x = values(12);
  c.input("x", {2, 6}, x).ints("order", {1, 0});
  c.node("Shape", {"x"}, {"s"});
  c.node("Gather", {"s", "order"}, {"t"});
  c.node("Reshape", {"x", "t"});
  c.output("y", {6, 2}, asDouble(x));
  return c;
}

Case sliceCase() {
  // Columns 1..2 of x[3, 4].
  Case c;
  std::vector<float> x = values(12);
  c.input("x", {3, 4}, x).ints("starts", {1}).ints("ends", {3}).ints("axes", {1});
  c.node("Slice", {"x", "starts", "ends", "axes"});
  c.output("y", {3, 2}, {x[1], x[2], x[5], x[6], x[9], x[10]});
  return c;
}

Case splitCase() {
  // x[2, 4] into two [2, 2] halves along axis 1.
  Case c;
  std::vector<float> x = values(8);
  c.input("x", {2, 4}, x);
  setInt(c.node("Split", {"x"}, {"y", "z"}), "axis", 1);
  c.output("y", {2, 2}, {x[0], x[1], x[4], x[5]});
  c.output("z", {2, 2}, {x[2], x[3], x[6], x[7]});
  return c;
}

//===----------------------------------------------------------------------===//
// Transformer operators (TransformerOps.cpp, N-D MatMul, Softmax)
//===----------------------------------------------------------------------===//

/// Layer normalization of x[rows, width] rows in double.
std::vector<double> layerNormReference(const std::vector<float> &x, int64_t width,
                                       const std::vector<float> &scale,
                                       const std::vector<float> &bias, double eps) {
  std::vector<double> y;
  for (size_t r = 0; r < x.size() / width; ++r) {
    double mu = 0, var = 0;
    for (int64_t j = 0; j < width; ++j)
      mu += double(x[r * width + j]) / width;
    for (int64_t j = 0; j < width; ++j)
      var += (x[r * width + j] - mu) * (x[r * width + j] - mu) / width;
    for (int64_t j = 0; j < width; ++j)
      y.push_back((x[r * width + j] - mu) / std::sqrt(var + eps) * scale[j] +
                  (bias.empty() ? 0.0 : bias[j]));
  }
  return y;
}

Case layerNormCase() {
  // x[2, 3, 4] normalized over its last two axes (axis 1), epsilon 1e-3.
  Case c(17);
  std::vector<float> x = values(24), scale = values(12, 0.3f), bias = values(12, -0.05f);
  c.input("x", {2, 3, 4}, x).weight("s", {3, 4}, scale).weight("b", {3, 4}, bias);
  auto &n = c.node("LayerNormalization", {"x", "s", "b"});
  setInt(n, "axis", 1);
  setFloat(n, "epsilon", 1e-3f);
  c.output("y", {2, 3, 4}, layerNormReference(x, 12, scale, bias, 1e-3));
  return c;
}

/// y = Where(op(x, b), x, b) for x[2, 3], b[3] (op a comparison, or Not
/// of Less).
Case comparisonCase(const std::string &op) {
  Case c;
  std::vector<float> x = values(6), b = {0.05f, -0.1f, 4.0f};
  c.input("x", {2, 3}, x).weight("b", {3}, b);
  if (op == "Not") {
    c.node("Less", {"x", "b"}, {"lt"});
    c.node("Not", {"lt"}, {"cond"});
  } else {
    c.node(op, {"x", "b"}, {"cond"});
  }
  c.node("Where", {"cond", "x", "b"});
  std::vector<double> y;
  for (int i = 0; i < 6; ++i) {
    double a = x[i], z = b[i % 3];
    bool pick = op == "Less" ? a < z : op == "Greater" ? a > z : op == "Equal" ? a == z : a >= z;
    y.push_back(pick ? a : z);
  }
  c.output("y", {2, 3}, y);
  return c;
}

Case equalCase() {
  // Equal where x and z agree in three places.
  Case c;
  std::vector<float> x = values(6), z = x;
  z[1] = 7.0f;
  z[4] = -7.0f;
  z[5] = 0.0f;
  c.input("x", {2, 3}, x).input("z", {2, 3}, z).weight("ten", {}, {10.0f});
  c.node("Equal", {"x", "z"}, {"cond"});
  c.node("Mul", {"z", "ten"}, {"z10"});
  c.node("Where", {"cond", "x", "z10"});
  std::vector<double> y;
  for (int i = 0; i < 6; ++i)
    y.push_back(x[i] == z[i] ? x[i] : 10.0 * z[i]);
  c.output("y", {2, 3}, y);
  return c;
}

Case expandCase() {
  // x[3, 1] expanded with shape [2, 1, 4] -> [2, 3, 4].
  Case c;
  std::vector<float> x = values(3);
  c.input("x", {3, 1}, x).ints("shape", {2, 1, 4}).node("Expand", {"x", "shape"});
  std::vector<double> y;
  for (int i = 0; i < 2; ++i)
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < 4; ++k)
        y.push_back(x[r]);
  c.output("y", {2, 3, 4}, y);
  return c;
}

Case constantOfShapeCase() {
  // y = x + ConstantOfShape(Shape(x), 0.5) for x[2, 3]; an INT64 value of 1
  // times -1 (folded, broadcast against a scalar) is Expand's shape [-1, -1]
  // → Where(Equal(.., -1), 1, ..) = [1, 1]: x's shape is kept.
  Case c;
  std::vector<float> x = values(6);
  c.input("x", {2, 3}, x).ints("minus", {-1}, {1});
  c.node("Shape", {"x"}, {"shape"});
  auto &half = c.node("ConstantOfShape", {"shape"}, {"halves"});
  auto *v = bregman::testing::addAttr(half, "value", ::onnx::AttributeProto::TENSOR)->mutable_t();
  Case::floatTensor(v, "value", {1}, {0.5f});
  auto &ones = c.node("ConstantOfShape", {"two"}, {"ones"});
  auto *one = bregman::testing::addAttr(ones, "value", ::onnx::AttributeProto::TENSOR)->mutable_t();
  one->set_data_type(::onnx::TensorProto::INT64);
  one->add_dims(1);
  one->set_raw_data(std::string("\1\0\0\0\0\0\0\0", 8));
  c.ints("two", {2});
  c.node("Mul", {"ones", "minus"}, {"minusOnes"});
  c.node("Equal", {"minusOnes", "minus"}, {"isMinus"});
  c.node("Where", {"isMinus", "ones", "minusOnes"}, {"keep"});
  c.node("Add", {"x", "halves"}, {"sum"});
  c.node("Expand", {"sum", "keep"});
  c.output("y", {2, 3}, mapped(x, [](double v) { return v + 0.5; }));
  return c;
}

Case resizeCase() {
  // x[1, 1, 2, 2] = [a, b; c, d] to sizes [1, 1, 3, 3], linear with
  // align_corners: the corners stay, edges and centre are the means.
  Case c;
  std::vector<float> x = values(4);
  c.input("x", {1, 1, 2, 2}, x).ints("sizes", {1, 1, 3, 3});
  auto &n = c.node("Resize", {"x", "", "", "sizes"});
  auto *mode = bregman::testing::addAttr(n, "mode", ::onnx::AttributeProto::STRING);
  mode->set_s("linear");
  auto *coord = bregman::testing::addAttr(n, "coordinate_transformation_mode",
                                          ::onnx::AttributeProto::STRING);
  coord->set_s("align_corners");
  double a = x[0], b = x[1], d0 = x[2], d = x[3];
  c.output("y", {1, 1, 3, 3},
           {a, (a + b) / 2, b, (a + d0) / 2, (a + b + d0 + d) / 4, (b + d) / 2, d0, (d0 + d) / 2, d});
  return c;
}

Case upsampleCase() {
  // Opset 9: x[1, 1, 2, 2] repeated 2× in H and 3× in W (nearest).
  Case c(9);
  std::vector<float> x = values(4);
  c.input("x", {1, 1, 2, 2}, x).weight("scales", {4}, {1.0f, 1.0f, 2.0f, 3.0f});
  c.node("Upsample", {"x", "scales"});
  std::vector<double> y;
  for (int r = 0; r < 4; ++r)
    for (int k = 0; k < 6; ++k)
      y.push_back(x[(r / 2) * 2 + k / 3]);
  c.output("y", {1, 1, 4, 6}, y);
  return c;
}

/// LSTM (forward, biases and initial states, Y_h only) or GRU
/// (bidirectional, linear_before_reset 0, Y only) on X [3, 2, 3], hidden
/// size 2, against the float64 loops of RecurrentReference.h in ONNX's
/// gate order.
Case recurrentCase(bool isLstm) {
  using bregman::testing::RnnShape;
  using bregman::testing::RnnWeights;
  Case c(14);
  const RnnShape s{3, 2, 3, 2};
  const int64_t gates = isLstm ? 4 : 3, rows = gates * s.hidden, dirs = isLstm ? 1 : 2;
  std::vector<float> x = values(18, 0.2f), w = values(dirs * rows * 3, 0.15f),
                     r = values(dirs * rows * 2, -0.2f), b = values(dirs * 2 * rows, 0.05f),
                     h0 = values(dirs * 4, 0.3f), c0 = values(4, -0.25f);
  c.input("x", {3, 2, 3}, x).weight("w", {dirs, rows, 3}, w).weight("r", {dirs, rows, 2}, r);
  c.weight("b", {dirs, 2 * rows}, b).weight("h0", {dirs, 2, 2}, h0);
  if (isLstm)
    c.weight("c0", {1, 2, 2}, c0);
  auto &n = isLstm ? c.node("LSTM", {"x", "w", "r", "b", "", "h0", "c0"}, {"", "y"})
                   : c.node("GRU", {"x", "w", "r", "b", "", "h0"}, {"y"});
  setInt(n, "hidden_size", 2);
  if (!isLstm) {
    auto *d = bregman::testing::addAttr(n, "direction", ::onnx::AttributeProto::STRING);
    d->set_s("bidirectional");
  }
  auto part = [](const std::vector<float> &v, int64_t d, int64_t size) {
    return std::vector<double>(v.begin() + d * size, v.begin() + (d + 1) * size);
  };
  std::vector<bregman::testing::RnnResult> out;
  for (int64_t d = 0; d < dirs; ++d) {
    std::vector<double> bias = part(b, d, 2 * rows);
    RnnWeights rw{part(w, d, rows * 3), part(r, d, rows * 2),
                  std::vector<double>(bias.begin(), bias.begin() + rows),
                  std::vector<double>(bias.begin() + rows, bias.end()), part(h0, d, 4),
                  isLstm ? asDouble(c0) : std::vector<double>{}};
    out.push_back(bregman::testing::referenceRnn(
        isLstm, asDouble(x), s, rw, isLstm ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 1, 2},
        /*linearBeforeReset=*/false, /*reverse=*/d == 1));
  }
  if (isLstm) {
    c.output("y", {1, 2, 2}, out[0].h);
    return c;
  }
  std::vector<double> y; // [T, D, N, H]
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t d = 0; d < 2; ++d)
      y.insert(y.end(), out[d].y.begin() + t * 4, out[d].y.begin() + (t + 1) * 4);
  c.output("y", {3, 2, 2, 2}, y);
  return c;
}

Case embeddingCase() {
  // Token ids [2, 3] (a graph input) into a table [5, 4] -> [2, 3, 4].
  Case c;
  std::vector<float> table = values(20);
  std::vector<int32_t> ids = {4, 0, 2, 2, 1, 3};
  c.weight("table", {5, 4}, table).intInput("ids", {2, 3}, ids);
  c.node("Gather", {"table", "ids"});
  std::vector<double> y;
  for (int32_t i : ids)
    for (int k = 0; k < 4; ++k)
      y.push_back(table[i * 4 + k]);
  c.output("y", {2, 3, 4}, y);
  return c;
}

Case gatherStaticCase() {
  // Columns [2, −1, 0] (axis 1) of x[2, 4] as a [2, 3] index tensor's
  // worth: y[2, 3].
  Case c;
  std::vector<float> x = values(8);
  c.input("x", {2, 4}, x).ints("idx", {2, -1, 0});
  setInt(c.node("Gather", {"x", "idx"}), "axis", 1);
  c.output("y", {2, 3}, {x[2], x[3], x[0], x[6], x[7], x[4]});
  return c;
}

/// MatMul of a[batchA..., 3, 4] and b[batchB..., 4, 2] with NumPy
/// broadcasting; `bIsWeight`: b is an initializer.
Case matMulNdCase(const Shape &sa, const Shape &sb, bool bIsWeight) {
  Case c;
  int64_t na = numElements(sa), nb = numElements(sb);
  std::vector<float> a = values(na), b = values(nb, 0.03f);
  c.input("a", sa, a);
  if (bIsWeight)
    c.weight("B", sb, b);
  else
    c.input("B", sb, b);
  c.node("MatMul", {"a", "B"});
  // Reference: promote 1-D, broadcast batches.
  Shape pa = sa.size() == 1 ? Shape{1, sa[0]} : sa, pb = sb.size() == 1 ? Shape{sb[0], 1} : sb;
  int64_t m = pa[pa.size() - 2], k = pa.back(), n = pb.back();
  size_t rank = std::max(pa.size(), pb.size());
  Shape batch(rank - 2);
  for (size_t i = 0; i < rank - 2; ++i) {
    auto at = [&](const Shape &s) {
      int64_t j = int64_t(i) - int64_t(rank - s.size());
      return j >= 0 ? s[j] : 1;
    };
    batch[i] = std::max(at(pa), at(pb));
  }
  auto offset = [&](const Shape &s, int64_t flat) {
    int64_t off = 0, stride = s[s.size() - 1] * s[s.size() - 2];
    for (int64_t i = int64_t(batch.size()) - 1; i >= 0; --i) {
      int64_t idx = flat % batch[i];
      flat /= batch[i];
      int64_t j = i - int64_t(rank - s.size());
      if (j >= 0) {
        off += (s[j] == 1 ? 0 : idx) * stride;
        stride *= s[j];
      }
    }
    return off;
  };
  std::vector<double> y;
  for (int64_t bi = 0; bi < numElements(batch); ++bi)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t q = 0; q < k; ++q)
          acc += double(a[offset(pa, bi) + i * k + q]) * b[offset(pb, bi) + q * n + j];
        y.push_back(acc);
      }
  Shape out = batch;
  if (sa.size() > 1)
    out.push_back(m);
  if (sb.size() > 1)
    out.push_back(n);
  c.output("y", out, y);
  return c;
}

Case softmaxLegacyCase(int64_t opset) {
  // Opset 11: axis 1 of x[2, 2, 3] flattens to [2, 6] (the softmax spans
  // both trailing axes); opset 13: along axis 1 only.
  Case c(opset);
  std::vector<float> x = values(12, 0.4f);
  c.input("x", {2, 2, 3}, x);
  setInt(c.node("Softmax", {"x"}), "axis", 1);
  std::vector<double> y(12);
  for (int b = 0; b < 2; ++b) {
    for (int k = 0; k < (opset < 13 ? 1 : 3); ++k) {
      std::vector<int> cells;
      for (int j = 0; j < 6; ++j)
        if (opset < 13 || j % 3 == k)
          cells.push_back(b * 6 + j);
      double total = 0;
      for (int i : cells)
        total += std::exp(double(x[i]));
      for (int i : cells)
        y[i] = std::exp(double(x[i])) / total;
    }
  }
  c.output("y", {2, 2, 3}, y);
  return c;
}

/// A case for every op type the table lists.
std::map<std::string, std::function<Case()>> cases() {
  std::map<std::string, std::function<Case()>> m;
  auto un = [&](const std::string &op, std::vector<float> x, double (*f)(double)) {
    m[op] = [op, x, f] { return unary(op, x, f); };
  };
  un("Relu", values(6), [](double v) { return std::max(v, 0.0); });
  un("Sigmoid", values(6), [](double v) { return 1 / (1 + std::exp(-v)); });
  un("Tanh", values(6), [](double v) { return std::tanh(v); });
  un("Exp", values(6), [](double v) { return std::exp(v); });
  un("Log", positives(6), [](double v) { return std::log(v); });
  un("Neg", values(6), [](double v) { return -v; });
  un("Abs", values(6), [](double v) { return std::abs(v); });
  un("Sqrt", positives(6), [](double v) { return std::sqrt(v); });
  un("Selu", values(6), [](double v) {
    const double alpha = 1.67326319217681884765625,
                 gamma = 1.05070102214813232421875;
    return gamma * (v > 0 ? v : alpha * (std::exp(v) - 1));
  });
  un("Softsign", values(6), [](double v) { return v / (1 + std::abs(v)); });
  un("Celu", values(6), [](double v) { return v > 0 ? v : std::exp(v) - 1; });
  un("Reciprocal", positives(6), [](double v) { return 1 / v; });
  m["LeakyRelu"] = [] {
    Case c;
    std::vector<float> x = values(6);
    setFloat(c.input("x", {2, 3}, x).node("LeakyRelu", {"x"}), "alpha", 0.2f);
    c.output("y", {2, 3}, mapped(x, [](double v) { return v < 0 ? 0.2 * v : v; }));
    return c;
  };
  m["InstanceNormalization"] = [] {
    // x [1, 2, 2, 3]: each channel's 6 values to mean 0, variance 1 (biased),
    // then its scale and shift.
    Case c;
    std::vector<float> x = values(12);
    const double scale[] = {1.5, -0.5}, shift[] = {0.25, 2.0}, eps = 1e-5;
    c.input("x", {1, 2, 2, 3}, x)
        .weight("scale", {2}, {1.5f, -0.5f})
        .weight("shift", {2}, {0.25f, 2.0f});
    c.node("InstanceNormalization", {"x", "scale", "shift"});
    std::vector<double> y;
    for (int ch = 0; ch < 2; ++ch) {
      double mean = 0, var = 0;
      for (int i = 0; i < 6; ++i)
        mean += x[6 * ch + i] / 6.0;
      for (int i = 0; i < 6; ++i)
        var += (x[6 * ch + i] - mean) * (x[6 * ch + i] - mean) / 6.0;
      for (int i = 0; i < 6; ++i)
        y.push_back((x[6 * ch + i] - mean) / std::sqrt(var + eps) * scale[ch] +
                    shift[ch]);
    }
    c.output("y", {1, 2, 2, 3}, y);
    return c;
  };
  m["Trilu"] = [] {
    // Lower triangle from the diagonal above the main one (k = 1) of each
    // [3, 4] matrix of x [2, 3, 4].
    Case c(14);
    std::vector<float> x = values(24);
    c.input("x", {2, 3, 4}, x).ints("k", {1});
    setInt(c.node("Trilu", {"x", "k"}), "upper", 0);
    std::vector<double> y;
    for (int n = 0; n < 24; ++n) {
      int i = (n / 4) % 3, j = n % 4;
      y.push_back(j - i <= 1 ? x[n] : 0.0);
    }
    c.output("y", {2, 3, 4}, y);
    return c;
  };
  m["Pad"] = [] {
    // x [1, 2, 3], reflect on the last axis: 1 before, 2 after;
    // [a, b, c] -> [b, a, b, c, b, a].
    Case c;
    std::vector<float> x = values(6);
    c.input("x", {1, 2, 3}, x).ints("pads", {0, 0, 1, 0, 0, 2});
    bregman::testing::addAttr(c.node("Pad", {"x", "pads"}), "mode",
                              ::onnx::AttributeProto::STRING)
        ->set_s("reflect");
    std::vector<double> y;
    for (int row = 0; row < 2; ++row)
      for (int k : {1, 0, 1, 2, 1, 0})
        y.push_back(x[3 * row + k]);
    c.output("y", {1, 2, 6}, y);
    return c;
  };
  m["PRelu"] = [] {
    // One slope per column, broadcast over the rows.
    Case c;
    std::vector<float> x = values(6);
    const double slope[] = {0.5, -0.25, 2.0};
    c.input("x", {2, 3}, x).weight("slope", {3}, {0.5f, -0.25f, 2.0f});
    c.node("PRelu", {"x", "slope"});
    std::vector<double> y;
    for (size_t i = 0; i < x.size(); ++i)
      y.push_back(x[i] < 0 ? slope[i % 3] * x[i] : x[i]);
    c.output("y", {2, 3}, y);
    return c;
  };
  // Stable where exp would overflow: inputs out to ±100.
  const std::vector<float> wide = {-100.0f, -20.0f, -0.5f, 0.5f, 20.0f, 100.0f};
  m["Softplus"] = [wide] {
    return unary("Softplus", wide, [](double v) { return std::log1p(std::exp(-std::abs(v))) + std::max(v, 0.0); });
  };
  m["Elu"] = [wide] {
    Case c;
    setFloat(c.input("x", {2, 3}, wide).node("Elu", {"x"}), "alpha", 0.7f);
    c.output("y", {2, 3}, mapped(wide, [](double v) { return v > 0 ? v : 0.7 * std::expm1(v); }));
    return c;
  };
  m["HardSigmoid"] = [] {
    Case c;
    std::vector<float> x = values(6, 2.0f);
    auto &n = c.input("x", {2, 3}, x).node("HardSigmoid", {"x"});
    setFloat(n, "alpha", 0.25f);
    setFloat(n, "beta", 0.4f);
    c.output("y", {2, 3}, mapped(x, [](double v) { return std::clamp(0.25 * v + 0.4, 0.0, 1.0); }));
    return c;
  };
  m["HardSwish"] = [] {
    Case c(14);
    std::vector<float> x = values(6, 1.5f);
    c.input("x", {2, 3}, x).node("HardSwish", {"x"});
    c.output("y", {2, 3}, mapped(x, [](double v) { return v * std::clamp(v / 6 + 0.5, 0.0, 1.0); }));
    return c;
  };
  m["Add"] = [] { return binary("Add", [](double a, double b) { return a + b; }); };
  m["Sub"] = [] { return binary("Sub", [](double a, double b) { return a - b; }); };
  m["Mul"] = [] { return binary("Mul", [](double a, double b) { return a * b; }); };
  m["Div"] = [] { return binary("Div", [](double a, double b) { return a / b; }); };
  m["Pow"] = powCase;
  m["Mod"] = modCase;
  m["Clip"] = clipCase;
  for (const char *op : {"Max", "Min", "Sum", "Mean"})
    m[op] = [op] { return maxMinCase(op); };
  m["Softmax"] = [] { return softmaxCase(false); };
  m["LogSoftmax"] = [] { return softmaxCase(true); };
  m["Gemm"] = gemmCase;
  m["MatMul"] = matMulCase;
  m["Einsum"] = einsumCase;
  m["Conv"] = convCase;
  m["ConvTranspose"] = convTransposeCase;
  for (const char *op : {"MaxPool", "AveragePool"})
    m[op] = [op] { return poolCase(op); };
  m["GlobalAveragePool"] = globalAveragePoolCase;
  m["GlobalMaxPool"] = globalMaxPoolCase;
  m["BatchNormalization"] = batchNormCase;
  for (const char *op :
       {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL1",
        "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"})
    m[op] = [op] { return reduceCase(op); };
  for (const char *op : {"Identity", "Dropout", "Cast"})
    m[op] = [op] { return passThrough(op); };
  m["Constant"] = constantCase;
  m["Flatten"] = flattenCase;
  m["Reshape"] = reshapeCase;
  m["Transpose"] = transposeCase;
  m["Concat"] = concatCase;
  for (const char *op : {"Squeeze", "Unsqueeze"})
    m[op] = [op] { return squeezeCase(op); };
  m["Shape"] = shapeCase;
  m["DepthToSpace"] = [] { return depthToSpaceCase(false); };
  m["SpaceToDepth"] = [] { return depthToSpaceCase(true); };
  m["Tile"] = tileCase;
  m["Size"] = tileCase;
  m["Gather"] = gatherCase;
  m["Slice"] = sliceCase;
  m["Split"] = splitCase;
  m["LayerNormalization"] = layerNormCase;
  un("Erf", values(6, 0.5f), [](double v) { return std::erf(v); });
  un("Sin", values(6, 3.0f), [](double v) { return std::sin(v); });
  m["GroupNormalization"] = [] { // opset 21: per channel
    Case c(21);
    std::vector<float> x = values(12);
    c.input("x", {1, 2, 2, 3}, x)
        .weight("s", {2}, {2.0f, 0.5f})
        .weight("b", {2}, {0.0f, 1.0f});
    setInt(c.node("GroupNormalization", {"x", "s", "b"}), "num_groups", 1);
    double mean = 0, var = 0;
    for (float v : x)
      mean += v / 12.0;
    for (float v : x)
      var += (v - mean) * (v - mean) / 12.0;
    std::vector<double> y;
    for (int i = 0; i < 12; ++i)
      y.push_back((x[i] - mean) / std::sqrt(var + 1e-5) * (i < 6 ? 2.0 : 0.5) +
                  (i < 6 ? 0 : 1));
    c.output("y", {1, 2, 2, 3}, y);
    return c;
  };
  m["Gelu"] = [] { // opset 20
    Case c(20);
    std::vector<float> x = values(6, 2.0f);
    c.input("x", {2, 3}, x).node("Gelu", {"x"});
    c.output("y", {2, 3}, mapped(x, [](double v) {
               return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
             }));
    return c;
  };
  un("Cos", values(6, 3.0f), [](double v) { return std::cos(v); });
  for (const char *op : {"Less", "Greater", "Not"})
    m[op] = [op] { return comparisonCase(op); };
  m["Where"] = [] { return comparisonCase("Less"); };
  m["Equal"] = equalCase;
  m["Expand"] = expandCase;
  m["ConstantOfShape"] = constantOfShapeCase;
  m["Resize"] = resizeCase;
  m["Upsample"] = upsampleCase;
  m["LSTM"] = [] { return recurrentCase(true); };
  m["GRU"] = [] { return recurrentCase(false); };
  return m;
}

Params runModel(const OnnxModel &m, const Params &inputs) {
  auto compiled = jit([&m](const Params &w, const Params &c, const Params &in) {
    return m.apply(w, c, in);
  });
  return compiled(m.weights(), m.constants(), inputs);
}

class HandlerTable : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("bregman_handler_table_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  OnnxModel load(const ::onnx::ModelProto &model, const std::string &name) {
    fs::path path = dir / (name + ".onnx");
    {
      std::ofstream out(path, std::ios::binary);
      model.SerializeToOstream(&out);
    }
    return OnnxModel::load(path.string());
  }
  fs::path dir;
};

TEST_F(HandlerTable, EveryListedOperatorRunsAndMatchesTheReference) {
  auto all = cases();
  std::vector<bregman::onnx::SupportedOp> ops = bregman::onnx::supportedOps();
  ASSERT_GE(ops.size(), 45u);
  for (const bregman::onnx::SupportedOp &op : ops) {
    SCOPED_TRACE(op.opType);
    auto it = all.find(op.opType);
    if (it == all.end()) {
      ADD_FAILURE() << op.opType << " is in the table but has no case here";
      continue;
    }
    Case c = it->second();
    OnnxModel model = load(c.model, op.opType);
    ASSERT_TRUE(model.unsupported().empty()) << model.unsupported().front();
    Params got = runModel(model, c.inputs);
    for (const auto &[name, expected] : c.expected) {
      ASSERT_TRUE(got.contains(name)) << name;
      std::vector<float> y = got.at(name).toVector<float>();
      ASSERT_EQ(y.size(), expected.size()) << name;
      for (size_t i = 0; i < y.size(); ++i)
        EXPECT_NEAR(y[i], expected[i], 1e-5 + 1e-5 * std::abs(expected[i]))
            << op.opType << " output " << name << "[" << i << "]";
    }
  }
}

Case shapeSliceCase() {
  // PyTorch's shape arithmetic: x[2, 3, 4] reshaped to Shape(x)[::-1]
  // sliced with step -1 (= [4, 3, 2]), then divided by Cast(Shape(x)[-1])
  // = 4 as data (the attention scale's pattern).
  Case c;
  std::vector<float> x = values(24);
  c.input("x", {2, 3, 4}, x)
      .ints("starts", {-1}).ints("ends", {-100}).ints("axes", {0}).ints("steps", {-1})
      .ints("last", {-1}).ints("end", {100});
  c.node("Shape", {"x"}, {"s"});
  c.node("Slice", {"s", "starts", "ends", "axes", "steps"}, {"reversed"});
  c.node("Reshape", {"x", "reversed"}, {"r"});
  c.node("Slice", {"s", "last", "end"}, {"width"});
  setInt(c.node("Cast", {"width"}, {"w"}), "to", ::onnx::TensorProto::FLOAT);
  c.node("Div", {"r", "w"});
  std::vector<double> y;
  for (float v : x)
    y.push_back(v / 4.0);
  c.output("y", {4, 3, 2}, y);
  return c;
}

// What the table's one case per operator leaves out: Gather on computed
// and static indices, MatMul above 2-D and with 1-D operands, Softmax's
// coercion to 2-D before opset 13, shape arithmetic folded (Slice with a
// negative step, Cast to FLOAT as data).
TEST_F(HandlerTable, TransformerOperatorVariantsMatchTheReference) {
  std::vector<std::pair<std::string, Case>> variants = {
      {"embedding", embeddingCase()},
      {"gather_static", gatherStaticCase()},
      {"matmul_3d_weight", matMulNdCase({2, 3, 4}, {4, 2}, true)},
      {"matmul_batched", matMulNdCase({2, 3, 4}, {2, 4, 2}, false)},
      {"matmul_broadcast", matMulNdCase({2, 1, 3, 4}, {3, 4, 2}, false)},
      {"matmul_vector_left", matMulNdCase({4}, {2, 4, 2}, false)},
      {"matmul_vector_right", matMulNdCase({2, 3, 4}, {4}, true)},
      {"softmax_opset11", softmaxLegacyCase(11)},
      {"softmax_opset13", softmaxLegacyCase(13)},
      {"shape_slice_cast", shapeSliceCase()},
  };
  for (auto &[name, c] : variants) {
    SCOPED_TRACE(name);
    OnnxModel model = load(c.model, name);
    ASSERT_TRUE(model.unsupported().empty()) << model.unsupported().front();
    Params got = runModel(model, c.inputs);
    for (const auto &[output, expected] : c.expected) {
      std::vector<float> y = got.at(output).toVector<float>();
      ASSERT_EQ(y.size(), expected.size());
      for (size_t i = 0; i < y.size(); ++i)
        EXPECT_NEAR(y[i], expected[i], 1e-5 + 1e-5 * std::abs(expected[i])) << "[" << i << "]";
    }
  }
}

TEST(HandlerTableEntries, RangesAndRolesAreConsistent) {
  std::set<std::string> seen;
  for (const bregman::onnx::SupportedOp &op : bregman::onnx::supportedOps()) {
    EXPECT_TRUE(seen.insert(op.opType).second) << op.opType << " listed twice";
    EXPECT_LE(op.sinceVersion, op.lastVersion) << op.opType;
    EXPECT_GE(op.sinceVersion, 1) << op.opType;
    EXPECT_EQ(op.lastVersion, 22)
        << op.opType; // PyTorch 2.15 writes 20 (libonnx 1.12 knows 17)
  }
  auto roles = [](const std::string &type) {
    for (const bregman::onnx::SupportedOp &op : bregman::onnx::supportedOps())
      if (op.opType == type)
        return op.roles;
    return std::map<int, ParamRole>{};
  };
  using R = std::map<int, ParamRole>;
  EXPECT_EQ(roles("Conv"), (R{{1, ParamRole::ConvWeight}, {2, ParamRole::Bias}}));
  EXPECT_EQ(roles("ConvTranspose"), (R{{1, ParamRole::ConvWeight}, {2, ParamRole::Bias}}));
  EXPECT_EQ(roles("Gemm"), (R{{1, ParamRole::LinearWeight}, {2, ParamRole::Bias}}));
  EXPECT_EQ(roles("MatMul"), (R{{1, ParamRole::LinearWeight}}));
  EXPECT_EQ(roles("BatchNormalization"),
            (R{{1, ParamRole::Scale}, {2, ParamRole::Shift}, {3, ParamRole::RunningMean},
               {4, ParamRole::RunningVar}}));
  EXPECT_EQ(roles("LayerNormalization"), (R{{1, ParamRole::Scale}, {2, ParamRole::Shift}}));
  EXPECT_TRUE(roles("Relu").empty());
}

// The summary carries the table's roles per node (retraining reads them).
TEST_F(HandlerTable, SummaryCarriesTheTableRoles) {
  OnnxModel model = load(convCase().model, "roles");
  std::vector<bregman::onnx::NodeSummary> summary = model.summary();
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0].parameterRoles,
            (std::map<int, ParamRole>{{1, ParamRole::ConvWeight}, {2, ParamRole::Bias}}));
  EXPECT_EQ(summary[0].outputShape, (Shape{1, 3, 3, 3}));
}

/// `model`'s unsupported() holds exactly `reasons`, and apply refuses it
/// with the first of them.
void expectRefused(const OnnxModel &model, const Params &inputs,
                   const std::vector<std::string> &reasons) {
  EXPECT_EQ(model.unsupported(), reasons);
  try {
    (void)runModel(model, inputs);
    ADD_FAILURE() << "apply ran a model unsupported() refuses";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()), "unsupported: " + reasons.front());
  }
}

// Tile of integers known at load time (shape arithmetic) is folded on the
// host: Shape(x) = [2, 3] tiled twice is the target [2, 3, 2, 3] of a
// Reshape. Repeats whose product would pass 2^40 elements are refused
// before anything is multiplied out (2^62 wraps a 64-bit count).
TEST_F(HandlerTable, TileFoldsShapesAndRefusesHugeRepeats) {
  {
    Case c;
    std::vector<float> z = values(36);
    c.input("x", {2, 3}, values(6)).input("z", {36}, z).ints("twice", {2});
    c.node("Shape", {"x"}, {"s"});
    c.node("Tile", {"s", "twice"}, {"t"});
    c.node("Reshape", {"z", "t"});
    c.output("y", {2, 3, 2, 3}, asDouble(z));
    OnnxModel model = load(c.model, "tile_static");
    ASSERT_TRUE(model.unsupported().empty()) << model.unsupported().front();
    Tensor y = runModel(model, c.inputs).at("y");
    EXPECT_EQ(y.shape(), (Shape{2, 3, 2, 3}));
    EXPECT_EQ(y.toVector<float>(), z);
  }
  for (bool onShapes : {false, true}) {
    Case c;
    // One repeat per axis: [2^62] for Shape(x), [2^62, 1] for x.
    c.input("x", {2, 3}, values(6));
    if (onShapes) {
      c.ints("huge", {int64_t(1) << 62});
      c.node("Shape", {"x"}, {"s"});
    } else {
      c.ints("huge", {int64_t(1) << 62, 1});
    }
    c.node("Tile", {onShapes ? "s" : "x", "huge"}, {"t"}, "tile1");
    c.node("Identity", {"t"});
    c.output("y", {1}, {});
    std::string why;
    try {
      OnnxModel model = load(c.model, "tile_huge");
      why = model.unsupported().empty() ? "" : model.unsupported().front();
    } catch (const Error &e) {
      why = e.what();
    }
    EXPECT_NE(why.find("node 'tile1' (Tile): repeats [4611686018427387904"),
              std::string::npos)
        << why;
    EXPECT_NE(why.find("more than 2^40 elements"), std::string::npos) << why;
  }
}

// An operator outside the table is reported, and so is one downstream of
// it (looked up in the table even though it cannot be replayed).
TEST_F(HandlerTable, OperatorsOutsideTheTableAreReported) {
  Case c;
  c.input("x", {2, 3}, values(6));
  c.node("Asinh", {"x"}, {"e"}, "asinh1");
  c.node("Relu", {"e"}, {"r"}, "relu1");
  c.node("Acos", {"r"}, {"y"}, "acos1");
  c.output("y", {2, 3}, {});
  expectRefused(load(c.model, "asinh"), c.inputs,
                {"node 'asinh1' (Asinh): operator not supported",
                 "node 'acos1' (Acos): operator not supported"});
}

// Every entry runs from its operator's first ONNX version (each handler
// reads the form the model's opset selects; LegacyOpsetTest.cpp), so no
// opset a model can declare falls outside an entry; ops first defined
// after a model's opset are refused at load (tests/hostile/data).
// Operators newer than libonnx 1.12's schemas (opset 17): their first
// version from the ONNX changelog.
TEST(HandlerTableEntries, EveryEntryStartsAtTheOperatorsFirstVersion) {
  const std::map<std::string, int> newerThanLibonnx{{"Gelu", 20},
                                                    {"GroupNormalization", 18}};
  for (const bregman::onnx::SupportedOp &op : bregman::onnx::supportedOps()) {
    int first = 0;
    for (int v = 1; v <= 17 && !first; ++v)
      if (const auto *schema = ::onnx::OpSchemaRegistry::Schema(op.opType, v, ""))
        first = schema->SinceVersion();
    if (auto it = newerThanLibonnx.find(op.opType);
        !first && it != newerThanLibonnx.end())
      first = it->second;
    EXPECT_EQ(op.sinceVersion, first) << op.opType;
  }
}

// Attributes and shapes a handler rejects: found at load time by the dry
// run, with the handler's own message (these models used to pass inspect
// and fail in run).
TEST_F(HandlerTable, NodesAHandlerRejectsAreReported) {
  {
    Case c;
    c.input("x", {1, 1, 4, 4}, values(16));
    auto &n = c.node("MaxPool", {"x"}, {"y"}, "pool1");
    setInts(n, "kernel_shape", {3, 3});
    setInts(n, "strides", {2, 2});
    setInt(n, "storage_order", 1);
    c.output("y", {1, 1, 1, 1}, {});
    expectRefused(load(c.model, "storage"), c.inputs,
                  {"node 'pool1' (MaxPool): storage_order = 1"});
  }
  {
    Case c;
    c.input("x", {2, 3}, values(6)).weight("e", {}, {4.0f});
    c.node("Pow", {"x", "e"}, {"y"}, "pow1");
    c.output("y", {2, 3}, {});
    expectRefused(load(c.model, "pow"), c.inputs,
                  {"node 'pow1' (Pow): exponent 4 (1, 2, 3, 0.5 and -1 are supported)"});
  }
  {
    Case c(17);
    c.input("x", {2, 3}, values(6)).weight("s", {3}, {1, 1, 1});
    setInt(c.node("LayerNormalization", {"x", "s"}, {"y"}, "ln1"), "stash_type", 0);
    c.output("y", {2, 3}, {});
    expectRefused(load(c.model, "stash"), c.inputs,
                  {"node 'ln1' (LayerNormalization): stash_type = 0 (only 1, float "
                   "statistics)"});
  }
}

} // namespace
