//===- CpuConvDnnl.cpp - 2-D convolutions through oneDNN ------------------===//
//
// Why oneDNN and not im2col + OpenBLAS SGEMM (the first implementation): on
// the ConvNet step (batch 128, 2-core AVX-512 machine, measured interleaved
// in one run) oneDNN took 74–88 ms per step against 108–112 ms; conv2's
// forward 4.4 ms against 12.5 ms. Its direct convolutions in blocked layouts
// beat the unfolded GEMM, whose K (C·KH·KW = 25 in the first layer) is small.
//
// oneDNN picks its own (blocked) layouts for the convolution; the tensors of
// compiled code are plain NCHW, so each call reorders into and out of them.
// Primitives, reorders and the blocked buffers are created once per geometry
// (a step calls the same shapes every time) and cached.
//
//===----------------------------------------------------------------------===//

#include "OpenMpTeams.h"
#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/Profile.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <map>
#include <memory>
#include <mutex>

namespace {

using dnnl::memory;
using Dims = memory::dims;

enum class Pass { Forward, GradInput, GradFilter };

struct Geometry {
  std::array<int64_t, 16> v; // n c h w f kh kw oh ow sh sw pt pl dh dw groups
  int64_t n() const { return v[0]; }
  int64_t c() const { return v[1]; }
  int64_t h() const { return v[2]; }
  int64_t w() const { return v[3]; }
  int64_t f() const { return v[4]; }
  int64_t kh() const { return v[5]; }
  int64_t kw() const { return v[6]; }
  int64_t oh() const { return v[7]; }
  int64_t ow() const { return v[8]; }
  int64_t groups() const { return v[15]; }
  Dims src() const { return {n(), c(), h(), w()}; }
  Dims dst() const { return {n(), f(), oh(), ow()}; }
  Dims weights() const {
    if (groups() == 1)
      return {f(), c(), kh(), kw()};
    return {groups(), f() / groups(), c() / groups(), kh(), kw()};
  }
  memory::format_tag weightsTag() const {
    return groups() == 1 ? memory::format_tag::oihw : memory::format_tag::goihw;
  }
  Dims strides() const { return {v[9], v[10]}; }
  Dims dilations() const { return {v[13] - 1, v[14] - 1}; } // oneDNN counts gaps
  Dims padLeft() const { return {v[11], v[12]}; }
  /// The bottom/right padding oneDNN's shape check wants: exactly what the
  /// last window needs (the op's own may be larger; floor drops the rest).
  Dims padRight() const {
    auto need = [](int64_t out, int64_t s, int64_t k, int64_t d, int64_t in,
                   int64_t before) {
      return std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in - before);
    };
    return {need(oh(), v[9], kh(), v[13], h(), v[11]),
            need(ow(), v[10], kw(), v[14], w(), v[12])};
  }
};

struct Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

Context &context() {
  static Context *instance = new Context();
  return *instance;
}

/// One argument in the user's plain layout and, when oneDNN wants another,
/// its blocked copy with the reorder between them.
struct Operand {
  memory::desc plain;
  memory::desc chosen;
  memory blocked; // empty when chosen == plain
  bool reordered() const { return plain != chosen; }

  Operand(const memory::desc &plain, const memory::desc &chosen)
      : plain(plain), chosen(chosen) {
    if (reordered())
      blocked = memory(chosen, context().engine);
  }
  /// The memory the primitive reads or writes for user buffer `data`.
  memory bind(void *data, bool input) {
    memory user(plain, context().engine, data);
    if (!reordered())
      return user;
    if (input)
      dnnl::reorder(user, blocked).execute(context().stream, user, blocked);
    return blocked;
  }
  void writeBack(void *data) {
    if (!reordered())
      return;
    memory user(plain, context().engine, data);
    dnnl::reorder(blocked, user).execute(context().stream, blocked, user);
  }
};

struct ConvPrimitive {
  dnnl::primitive primitive;
  std::unique_ptr<Operand> a, b, out; // in the order of the C call
  int argA, argB, argOut;
};

memory::desc anyDesc(const Dims &dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
}

std::unique_ptr<ConvPrimitive> create(const Geometry &g, Pass pass) {
  using namespace dnnl;
  auto &eng = context().engine;
  memory::desc src = anyDesc(g.src()), dst = anyDesc(g.dst()),
               wei = anyDesc(g.weights());
  memory::desc plainSrc(g.src(), memory::data_type::f32, memory::format_tag::nchw);
  memory::desc plainDst(g.dst(), memory::data_type::f32, memory::format_tag::nchw);
  memory::desc plainWei(g.weights(), memory::data_type::f32, g.weightsTag());
  convolution_forward::desc fwd(prop_kind::forward_training,
                                algorithm::convolution_direct, src, wei, dst,
                                g.strides(), g.dilations(), g.padLeft(),
                                g.padRight());
  convolution_forward::primitive_desc fwdPd(fwd, eng);
  auto result = std::make_unique<ConvPrimitive>();
  switch (pass) {
  case Pass::Forward:
    result->primitive = convolution_forward(fwdPd);
    result->a = std::make_unique<Operand>(plainSrc, fwdPd.src_desc());
    result->b = std::make_unique<Operand>(plainWei, fwdPd.weights_desc());
    result->out = std::make_unique<Operand>(plainDst, fwdPd.dst_desc());
    result->argA = DNNL_ARG_SRC;
    result->argB = DNNL_ARG_WEIGHTS;
    result->argOut = DNNL_ARG_DST;
    break;
  case Pass::GradInput: {
    convolution_backward_data::desc bwd(algorithm::convolution_direct, src, wei,
                                        dst, g.strides(), g.dilations(),
                                        g.padLeft(), g.padRight());
    convolution_backward_data::primitive_desc pd(bwd, eng, fwdPd);
    result->primitive = convolution_backward_data(pd);
    result->a = std::make_unique<Operand>(plainDst, pd.diff_dst_desc());
    result->b = std::make_unique<Operand>(plainWei, pd.weights_desc());
    result->out = std::make_unique<Operand>(plainSrc, pd.diff_src_desc());
    result->argA = DNNL_ARG_DIFF_DST;
    result->argB = DNNL_ARG_WEIGHTS;
    result->argOut = DNNL_ARG_DIFF_SRC;
    break;
  }
  case Pass::GradFilter: {
    convolution_backward_weights::desc bwd(algorithm::convolution_direct, src,
                                           wei, dst, g.strides(), g.dilations(),
                                           g.padLeft(), g.padRight());
    convolution_backward_weights::primitive_desc pd(bwd, eng, fwdPd);
    result->primitive = convolution_backward_weights(pd);
    result->a = std::make_unique<Operand>(plainSrc, pd.src_desc());
    result->b = std::make_unique<Operand>(plainDst, pd.diff_dst_desc());
    result->out = std::make_unique<Operand>(plainWei, pd.diff_weights_desc());
    result->argA = DNNL_ARG_SRC;
    result->argB = DNNL_ARG_DIFF_DST;
    result->argOut = DNNL_ARG_DIFF_WEIGHTS;
    break;
  }
  }
  return result;
}

void run(const Geometry &g, Pass pass, intptr_t a, intptr_t b, intptr_t out) {
  bregman::runtime::ProfileScope timed(bregman::runtime::profileCounters().convNs);
  if (bregman::runtime::profilingEnabled())
    ++bregman::runtime::profileCounters().convCalls;
  static std::mutex mutex;
  static auto *cache =
      new std::map<std::tuple<std::array<int64_t, 16>, Pass, int>,
                   std::unique_ptr<ConvPrimitive>>();
  std::lock_guard<std::mutex> lock(mutex);
  bregman::runtime::WholeOpenMpTeams wholeTeams;
  // Keyed by the team too: a convolution plans its work per thread.
  auto &entry = (*cache)[{g.v, pass, wholeTeams.threads()}];
  if (!entry)
    entry = create(g, pass);
  ConvPrimitive &p = *entry;
  auto *outData = reinterpret_cast<void *>(out);
  memory memA = p.a->bind(reinterpret_cast<void *>(a), true);
  memory memB = p.b->bind(reinterpret_cast<void *>(b), true);
  memory memOut = p.out->bind(outData, false);
  p.primitive.execute(context().stream,
                      {{p.argA, memA}, {p.argB, memB}, {p.argOut, memOut}});
  p.out->writeBack(outData);
  context().stream.wait();
}

} // namespace

#define GEOMETRY                                                               \
  Geometry g {                                                                 \
    {n, c, h, w, f, kh, kw, oh, ow, strideH, strideW, padTop, padLeft,         \
     dilationH, dilationW, groups}                                             \
  }

extern "C" void bregman_cpu_conv2d_forward(BREGMAN_CONV_GEOMETRY_PARAMS,
                                           intptr_t x, intptr_t filter,
                                           intptr_t y) {
  GEOMETRY;
  run(g, Pass::Forward, x, filter, y);
}

extern "C" void bregman_cpu_conv2d_grad_input(BREGMAN_CONV_GEOMETRY_PARAMS,
                                              intptr_t dy, intptr_t filter,
                                              intptr_t dx) {
  GEOMETRY;
  run(g, Pass::GradInput, dy, filter, dx);
}

extern "C" void bregman_cpu_conv2d_grad_filter(BREGMAN_CONV_GEOMETRY_PARAMS,
                                               intptr_t x, intptr_t dy,
                                               intptr_t dfilter) {
  GEOMETRY;
  run(g, Pass::GradFilter, x, dy, dfilter);
}
