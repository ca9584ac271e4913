// qs8_quantize__neon.cc: float32 -> int8 QUANTIZE for armv8 NEON (every arm64 path), 4 floats per q register.
// Reference twin: eb_qs8_quantize_ref (qs8-quantize/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// Exactly eb_qs8_quantize_ref (docs/quantization.md (1)): vmulq_f32 (never contracted), vrndnq_f32 = nearest-even
// (nearbyintf's default mode), + zp in float, then the clamp with NaN -> −128 by an explicit compare (NEON's vmax
// propagates NaN). aarch64 only: armv7 NEON has no vector round-to-nearest and flushes denormal products to zero, so
// armv7 keeps the reference kernel (kernels/runtime/cpu.cc).
#include <arm_neon.h>

#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

#if defined(__aarch64__)
namespace {
constexpr size_t VEC = 8;

inline int8x8_t quantize_vec(const float* x, float inv_scale, int32_t zero_point) {
  const float32x4_t s = vdupq_n_f32(inv_scale), zp = vdupq_n_f32((float)zero_point);
  const float32x4_t lo = vdupq_n_f32(-128.0f), hi = vdupq_n_f32(127.0f);
  int32x4_t q[2];
  for (int h = 0; h < 2; ++h) {
    float32x4_t v = vaddq_f32(vrndnq_f32(vmulq_f32(vld1q_f32(x + 4 * h), s)), zp);
    v = vbslq_f32(vcgeq_f32(v, lo), v, lo);  // false for NaN: -128
    q[h] = vcvtq_s32_f32(vminq_f32(v, hi));
  }
  return vmovn_s16(vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1])));
}

inline void store_vec(int8_t* out, int8x8_t q) { vst1_s8(out, q); }

// Sixteen floats of one channel, as quantize_vec computes them (the values are within int8 after the clamp, so the
// narrowing moves are exact).
inline int8x16_t quantize16(const float* x, float inv_scale, int32_t zero_point) {
  return vcombine_s8(quantize_vec(x, inv_scale, zero_point), quantize_vec(x + 8, inv_scale, zero_point));
}
}  // namespace

extern "C" void eb_qs8_quantize_ukernel__neon(size_t count, const float* input, int8_t* output, float inv_scale,
                                              int32_t zero_point) {
  size_t i = 0;
  for (; i + VEC <= count; i += VEC) store_vec(output + i, quantize_vec(input + i, inv_scale, zero_point));
  if (i < count) {  // tail: through a zero-padded copy (the padding quantizes to something that is not stored)
    float tmp[VEC] = {0};
    int8_t out[VEC];
    for (size_t j = 0; j < count - i; ++j) tmp[j] = input[i + j];
    store_vec(out, quantize_vec(tmp, inv_scale, zero_point));
    for (size_t j = 0; j < count - i; ++j) output[i + j] = out[j];
  }
}

// NCHW float in, NHWC int8 out: each channel's row of VEC pixels is quantized in registers, then its bytes are
// written C apart (a strided byte scatter: the transpose costs one store per element, the math is vectorized).
extern "C" void eb_qs8_quantize_ukernel__neon_to_nhwc(size_t batch, size_t channels, size_t height, size_t width,
                                                      const float* input, int8_t* output, float inv_scale,
                                                      int32_t zero_point) {
  int8_t q[VEC];
  for (size_t n = 0; n < batch; ++n) {
    for (size_t h = 0; h < height; ++h) {
      int8_t* out_row = output + (n * height + h) * width * channels;
      size_t w0 = 0;
      if (channels == 3) {  // an image: 16 pixels of each channel, interleaved by one vst3q_s8 (no byte scatter)
        const size_t plane = height * width;
        const float* src = input + n * 3 * plane + h * width;
        for (; width - w0 >= 16; w0 += 16) {
          int8x16x3_t v;
          v.val[0] = quantize16(src + w0, inv_scale, zero_point);
          v.val[1] = quantize16(src + plane + w0, inv_scale, zero_point);
          v.val[2] = quantize16(src + 2 * plane + w0, inv_scale, zero_point);
          vst3q_s8(out_row + w0 * 3, v);
        }
      }
      for (; w0 < width; w0 += VEC) {
        const size_t len = width - w0 < VEC ? width - w0 : VEC;
        for (size_t c = 0; c < channels; ++c) {
          const float* src = input + ((n * channels + c) * height + h) * width + w0;
          if (len == VEC) {
            store_vec(q, quantize_vec(src, inv_scale, zero_point));
          } else {
            eb_qs8_quantize_ukernel__neon(len, src, q, inv_scale, zero_point);
          }
          int8_t* dst = out_row + w0 * channels + c;
          for (size_t j = 0; j < len; ++j) dst[j * channels] = q[j];
        }
      }
    }
  }
}
#endif  // __aarch64__
