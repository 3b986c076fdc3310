//===- CpuConv.cpp - 2-D convolutions as im2col + OpenBLAS SGEMM ----------===//
//
// Why im2col + GEMM (and not oneDNN): OpenBLAS is already the GEMM library of
// the CPU path, the three convolutions then cost one large SGEMM each, and no
// second tuned library has to be installed, loaded and kept in step. The
// unfolded input of several samples goes into one matrix (bounded scratch),
// so that each GEMM is wide enough for all cores.
//
//   forward      Y_g  = W_g · col(x)_g                 [F/G × B·OH·OW]
//   grad filter  dW_g = Σ_chunks dY_g · col(x)_gᵀ       [F/G × C/G·KH·KW]
//   grad input   dx   = col2im(W_gᵀ · dY_g)
//
//===----------------------------------------------------------------------===//

#include "bregman/runtime/CpuLibrary.h"
#include "bregman/runtime/Profile.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace {

struct Geometry {
  int64_t n, c, h, w, f, kh, kw, oh, ow, sh, sw, pt, pl, dh, dw, groups;
  int64_t cg() const { return c / groups; }
  int64_t fg() const { return f / groups; }
  int64_t rows() const { return cg() * kh * kw; } // K of the GEMMs
  int64_t pixels() const { return oh * ow; }
  /// Samples per chunk: the unfolded chunk stays within ~8 MiB.
  int64_t chunk() const {
    int64_t perSample = rows() * pixels();
    return std::clamp<int64_t>((int64_t(2) << 20) / std::max<int64_t>(perSample, 1),
                               1, n);
  }
};

/// Scratch reused across calls (the step calls the same shapes every time).
std::vector<float> &scratch(int which, size_t size) {
  thread_local std::vector<float> buffers[2];
  if (buffers[which].size() < size)
    buffers[which].resize(size);
  return buffers[which];
}

/// The range [lo, hi) of output columns whose input column
/// o·s − pad + k·d lies inside [0, extent).
inline void validRange(int64_t outExtent, int64_t stride, int64_t offset,
                       int64_t extent, int64_t &lo, int64_t &hi) {
  // o·s + offset ≥ 0  and  o·s + offset < extent
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = extent - offset <= 0 ? 0 : (extent - offset + stride - 1) / stride;
  lo = std::min(lo, outExtent);
  hi = std::clamp(hi, lo, outExtent);
}

/// col[(c·KH + kh)·KW + kw][b·P + p] for samples n0 .. n0+count of group g.
/// Fold false: col = unfold(x); Fold true: x += fold(col) (col2im).
template <bool Fold>
void unfold(const Geometry &g, float *x, float *col, int64_t n0, int64_t count,
            int64_t group) {
  const int64_t pixels = g.pixels(), width = count * pixels;
  for (int64_t c = 0; c < g.cg(); ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        float *row = col + ((c * g.kh + i) * g.kw + j) * width;
        int64_t offH = i * g.dh - g.pt, offW = j * g.dw - g.pl;
        int64_t owLo, owHi;
        validRange(g.ow, g.sw, offW, g.w, owLo, owHi);
        for (int64_t b = 0; b < count; ++b) {
          float *plane = x + ((n0 + b) * g.c + group * g.cg() + c) * g.h * g.w;
          for (int64_t o = 0; o < g.oh; ++o) {
            float *out = row + b * pixels + o * g.ow;
            int64_t ih = o * g.sh + offH;
            if (ih < 0 || ih >= g.h) {
              if (!Fold)
                std::fill(out, out + g.ow, 0.0f);
              continue;
            }
            float *in = plane + ih * g.w + offW;
            if (!Fold) {
              std::fill(out, out + owLo, 0.0f);
              std::fill(out + owHi, out + g.ow, 0.0f);
            }
            if (g.sw == 1) {
              if (Fold)
                for (int64_t q = owLo; q < owHi; ++q)
                  in[q] += out[q];
              else
                std::memcpy(out + owLo, in + owLo,
                            sizeof(float) * (owHi - owLo));
            } else {
              for (int64_t q = owLo; q < owHi; ++q) {
                if (Fold)
                  in[q * g.sw] += out[q];
                else
                  out[q] = in[q * g.sw];
              }
            }
          }
        }
      }
}

/// Copies between the NCHW tensor t (F channels) and the chunk matrix
/// m[f][b·P + p] (group g's channels of samples n0 .. n0+count), the layout
/// of the GEMMs.
template <bool ToMatrix>
void copyChannels(const Geometry &g, float *t, float *m, int64_t n0,
                    int64_t count, int64_t group) {
  const int64_t pixels = g.pixels();
  for (int64_t f = 0; f < g.fg(); ++f)
    for (int64_t b = 0; b < count; ++b) {
      float *image = t + ((n0 + b) * g.f + group * g.fg() + f) * pixels;
      float *row = m + (f * count + b) * pixels;
      if (ToMatrix)
        std::memcpy(row, image, sizeof(float) * pixels);
      else
        std::memcpy(image, row, sizeof(float) * pixels);
    }
}

template <typename T> T *ptr(intptr_t address) {
  return reinterpret_cast<T *>(address);
}

class ConvCall {
public:
  ConvCall() : timed(bregman::runtime::profileCounters().convNs) {
    if (bregman::runtime::profilingEnabled())
      ++bregman::runtime::profileCounters().convCalls;
  }

private:
  bregman::runtime::ProfileScope timed;
};

} // namespace

#define GEOMETRY                                                               \
  Geometry g { n, c, h, w, f, kh, kw, oh, ow, strideH, strideW, padTop,        \
               padLeft, dilationH, dilationW, groups }

extern "C" void bregman_cpu_conv2d_forward(BREGMAN_CONV_GEOMETRY_PARAMS,
                                           intptr_t x, intptr_t filter,
                                           intptr_t y) {
  ConvCall call;
  GEOMETRY;
  const int64_t chunk = g.chunk(), rows = g.rows(), fg = g.fg();
  std::vector<float> &col = scratch(0, rows * chunk * g.pixels());
  std::vector<float> &out = scratch(1, fg * chunk * g.pixels());
  for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
    int64_t count = std::min(chunk, g.n - n0), width = count * g.pixels();
    for (int64_t group = 0; group < g.groups; ++group) {
      unfold<false>(g, ptr<float>(x), col.data(), n0, count, group);
      // out[f][b·P + p] = Σ_r W[f][r] · col[r][b·P + p]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, fg, width, rows,
                  1.0f, ptr<float>(filter) + group * fg * rows, rows,
                  col.data(), width, 0.0f, out.data(), width);
      copyChannels<false>(g, ptr<float>(y), out.data(), n0, count, group);
    }
  }
}

extern "C" void bregman_cpu_conv2d_grad_filter(BREGMAN_CONV_GEOMETRY_PARAMS,
                                               intptr_t x, intptr_t dy,
                                               intptr_t dfilter) {
  ConvCall call;
  GEOMETRY;
  const int64_t chunk = g.chunk(), rows = g.rows(), fg = g.fg();
  std::vector<float> &col = scratch(0, rows * chunk * g.pixels());
  std::vector<float> &grad = scratch(1, fg * chunk * g.pixels());
  for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
    int64_t count = std::min(chunk, g.n - n0), width = count * g.pixels();
    for (int64_t group = 0; group < g.groups; ++group) {
      unfold<false>(g, ptr<float>(x), col.data(), n0, count, group);
      copyChannels<true>(g, ptr<float>(dy), grad.data(), n0, count, group);
      // dW_g[f][r] (+)= Σ_q grad[f][q] · col[r][q]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, fg, rows, width,
                  1.0f, grad.data(), width, col.data(), width,
                  n0 == 0 ? 0.0f : 1.0f,
                  ptr<float>(dfilter) + group * fg * rows, rows);
    }
  }
}

extern "C" void bregman_cpu_conv2d_grad_input(BREGMAN_CONV_GEOMETRY_PARAMS,
                                              intptr_t dy, intptr_t filter,
                                              intptr_t dx) {
  ConvCall call;
  GEOMETRY;
  const int64_t chunk = g.chunk(), rows = g.rows(), fg = g.fg();
  std::vector<float> &col = scratch(0, rows * chunk * g.pixels());
  std::vector<float> &grad = scratch(1, fg * chunk * g.pixels());
  std::fill(ptr<float>(dx), ptr<float>(dx) + g.n * g.c * g.h * g.w, 0.0f);
  for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
    int64_t count = std::min(chunk, g.n - n0), width = count * g.pixels();
    for (int64_t group = 0; group < g.groups; ++group) {
      copyChannels<true>(g, ptr<float>(dy), grad.data(), n0, count, group);
      // col[r][q] = Σ_f W_g[f][r] · grad[f][q]
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, width, fg,
                  1.0f, ptr<float>(filter) + group * fg * rows, rows,
                  grad.data(), width, 0.0f, col.data(), width);
      unfold<true>(g, ptr<float>(dx), col.data(), n0, count, group);
    }
  }
}
