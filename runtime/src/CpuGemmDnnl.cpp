//===- CpuGemmDnnl.cpp - GEMM through oneDNN's matmul primitive -----------===//
//
// Creating a oneDNN primitive costs far more than running a small GEMM, and a
// training step calls the same few shapes every time: one primitive per
// (transposes, m, n, k, beta) is created on first use and cached, with its
// three memory objects, whose data handles are re-pointed on each call.
// Transposed operands are described by their strides, so no copy is made;
// beta != 0 is oneDNN's `sum` post-op (C = A·B + beta·C).
//
//===----------------------------------------------------------------------===//

#include "OpenMpTeams.h"
#include "bregman/runtime/CpuGemm.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <dlfcn.h>

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

namespace {

using dnnl::memory;

struct Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

Context &context() {
  // Never destroyed: compiled code may call in from static destructors.
  static Context *instance = new Context();
  return *instance;
}

/// The shape, beta, and the team the primitive was planned for.
using Key =
    std::tuple<bool, bool, int64_t, int64_t, int64_t, float, int64_t, int>;

struct MatmulPrimitive {
  dnnl::matmul primitive;
  memory a, b, c;
};

/// A row-major rows×cols matrix, stored transposed (cols×rows) if asked;
/// with a batch, `batch` of them one after the other.
memory::desc matrixDesc(int64_t rows, int64_t cols, bool transposed,
                        int64_t batch) {
  memory::dims strides = transposed ? memory::dims{1, rows}
                                    : memory::dims{cols, 1};
  if (batch == 1)
    return memory::desc({rows, cols}, memory::data_type::f32, strides);
  strides.insert(strides.begin(), rows * cols);
  return memory::desc({batch, rows, cols}, memory::data_type::f32, strides);
}

std::unique_ptr<MatmulPrimitive> create(const bregman::runtime::GemmShape &s) {
  Context &ctx = context();
  memory::desc a = matrixDesc(s.m, s.k, s.transA, s.batch);
  memory::desc b = matrixDesc(s.k, s.n, s.transB, s.batch);
  memory::desc c = matrixDesc(s.m, s.n, false, s.batch);
  dnnl::primitive_attr attr;
  if (s.beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(s.beta);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr,
                                  ctx.engine);
  auto result = std::make_unique<MatmulPrimitive>();
  result->primitive = dnnl::matmul(pd);
  result->a = memory(a, ctx.engine, DNNL_MEMORY_NONE);
  result->b = memory(b, ctx.engine, DNNL_MEMORY_NONE);
  result->c = memory(c, ctx.engine, DNNL_MEMORY_NONE);
  return result;
}

} // namespace

void bregman::runtime::sgemmOneDnn(const GemmShape &s, const float *a,
                                   const float *b, float *c) {
  static std::mutex mutex;
  static auto *cache = new std::map<Key, std::unique_ptr<MatmulPrimitive>>();
  std::lock_guard<std::mutex> lock(mutex);
  WholeOpenMpTeams wholeTeams;
  auto &entry = (*cache)[Key{s.transA, s.transB, s.m, s.n, s.k, s.beta,
                             s.batch, wholeTeams.threads()}];
  if (!entry)
    entry = create(s);
  MatmulPrimitive &p = *entry;
  // oneDNN takes non-const handles; it only reads A and B.
  p.a.set_data_handle(const_cast<float *>(a));
  p.b.set_data_handle(const_cast<float *>(b));
  p.c.set_data_handle(c);
  Context &ctx = context();
  p.primitive.execute(ctx.stream, {{DNNL_ARG_SRC, p.a},
                                   {DNNL_ARG_WEIGHTS, p.b},
                                   {DNNL_ARG_DST, p.c}});
  ctx.stream.wait();
}

void bregman::runtime::sgemmOneDnnBlas(const GemmShape &s, const float *a,
                                       const float *b, float *c) {
  // Row-major leading dimensions are the stored row lengths.
  const int64_t lda = s.transA ? s.m : s.k;
  const int64_t ldb = s.transB ? s.k : s.n;
  WholeOpenMpTeams wholeTeams;
  for (int64_t i = 0; i < s.batch; ++i) {
    dnnl_status_t status = dnnl_sgemm(
        s.transA ? 'T' : 'N', s.transB ? 'T' : 'N', s.m, s.n, s.k, 1.0f,
        a + i * s.m * s.k, lda, b + i * s.k * s.n, ldb, s.beta,
        c + i * s.m * s.n, s.n);
    // Generated code cannot take an exception; the shapes are valid, so a
    // refusal would be oneDNN's own limit: OpenBLAS computes the same.
    if (status != dnnl_success)
      return sgemmOpenBlas({s.transA, s.transB, s.m, s.n, s.k, s.beta,
                            s.batch - i},
                           a + i * s.m * s.k, b + i * s.k * s.n,
                           c + i * s.m * s.n);
  }
}

std::string bregman::runtime::oneDnnOpenMpLibrary() {
  void *symbol = dlsym(RTLD_DEFAULT, "GOMP_parallel");
  Dl_info info;
  if (!symbol || !dladdr(symbol, &info) || !info.dli_fname)
    return "";
  return info.dli_fname;
}
