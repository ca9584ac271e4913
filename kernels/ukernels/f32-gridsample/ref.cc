// f32-gridsample/ref.cc: reference float32 GRID_SAMPLE (aten.grid_sampler_2d): NHWC input, plain grid, plain loops.
#include <math.h>

#include "edgebuild/ukernels.h"

// docs/artifact.md GRID_SAMPLE. For output (n, oh, ow) the grid holds (gx, gy) in [-1, 1] (x indexes the width).
// Coordinates follow PyTorch's CPU kernel in float32 (so nearest picks the same pixel at .5 boundaries):
//   unnormalize: align_corners ? (g + 1)·((size − 1)/2) : (g + 1)·(size/2) − 0.5
//   BORDER: clip to [0, size − 1]; REFLECTION: reflect about the borders (align_corners: 0 and size − 1, else −0.5
//   and size − 0.5; fmod is exact), then clip.
// BILINEAR sums the four neighbours inside the input times their weights (outside ones are 0: ZEROS padding) in
// double, rounded once; NEAREST reads the pixel at round-half-even(x, y), 0 outside. A coordinate that is not
// finite, or lies more than one pixel outside the input, reads nothing (0): no grid value reads outside the input.
static float eb_gs_reflect(float in, float twice_low, float twice_high) {
  if (twice_low == twice_high) return 0.0f;
  const float lo = twice_low / 2.0f, span = (twice_high - twice_low) / 2.0f;
  in = fabsf(in - lo);
  const float extra = fmodf(in, span);
  const float flips = floorf(in / span);
  return fmodf(flips, 2.0f) == 0.0f ? extra + lo : span - extra + lo;
}

static float eb_gs_coordinate(float g, int32_t size, int32_t padding, int32_t align_corners) {
  float c = align_corners ? (g + 1.0f) * ((float)(size - 1) / 2.0f) : (g + 1.0f) * ((float)size / 2.0f) - 0.5f;
  if (padding == 2) {  // REFLECTION
    c = align_corners ? eb_gs_reflect(c, 0.0f, 2.0f * (float)(size - 1))
                      : eb_gs_reflect(c, -1.0f, 2.0f * (float)size - 1.0f);
  }
  if (padding != 0) {  // BORDER, REFLECTION: clip (a NaN stays NaN and reads nothing)
    c = c < 0.0f ? 0.0f : c;
    c = c > (float)(size - 1) ? (float)(size - 1) : c;
  }
  return c;
}

// A usable coordinate: finite and within one pixel of [0, size − 1] (so floor() fits an int64 exactly).
static inline int eb_gs_near(float c, int32_t size) { return c > -2.0f && c < (float)size + 1.0f; }

extern "C" void eb_f32_gridsample_ref(size_t batch, int32_t input_height, int32_t input_width, size_t channels,
                                      size_t output_height, size_t output_width, int32_t mode, int32_t padding,
                                      int32_t align_corners, const float* input, const float* grid, float* output) {
  const int64_t H = input_height, W = input_width;
  for (size_t n = 0; n < batch; ++n) {
    const float* img = input + n * (size_t)H * (size_t)W * channels;
    for (size_t p = 0; p < output_height * output_width; ++p) {
      const float* g = grid + (n * output_height * output_width + p) * 2;
      float* out = output + (n * output_height * output_width + p) * channels;
      const float ix = eb_gs_coordinate(g[0], input_width, padding, align_corners);
      const float iy = eb_gs_coordinate(g[1], input_height, padding, align_corners);
      for (size_t c = 0; c < channels; ++c) out[c] = 0.0f;
      if (!eb_gs_near(ix, input_width) || !eb_gs_near(iy, input_height)) continue;
      if (mode == 1) {  // NEAREST
        const int64_t x = (int64_t)nearbyintf(ix), y = (int64_t)nearbyintf(iy);
        if (x < 0 || x >= W || y < 0 || y >= H) continue;
        const float* v = img + ((size_t)y * (size_t)W + (size_t)x) * channels;
        for (size_t c = 0; c < channels; ++c) out[c] = v[c];
        continue;
      }
      const float x0 = floorf(ix), y0 = floorf(iy);
      const int64_t xw = (int64_t)x0, yn = (int64_t)y0;
      // PyTorch's weights: nw = (x1 − x)(y1 − y), ne = (x − x0)(y1 − y), sw = (x1 − x)(y − y0), se = (x − x0)(y − y0)
      const double dx1 = (double)(x0 + 1.0f - ix), dx0 = (double)(ix - x0);
      const double dy1 = (double)(y0 + 1.0f - iy), dy0 = (double)(iy - y0);
      const int64_t xs[4] = {xw, xw + 1, xw, xw + 1}, ys[4] = {yn, yn, yn + 1, yn + 1};
      const double ws[4] = {dx1 * dy1, dx0 * dy1, dx1 * dy0, dx0 * dy0};
      for (size_t c = 0; c < channels; ++c) {
        double acc = 0.0;
        for (int k = 0; k < 4; ++k) {
          if (xs[k] < 0 || xs[k] >= W || ys[k] < 0 || ys[k] >= H) continue;
          acc += ws[k] * (double)img[((size_t)ys[k] * (size_t)W + (size_t)xs[k]) * channels + c];
        }
        out[c] = (float)acc;
      }
    }
  }
}
