// qd8_quantize__neon.cc: DYNAMIC_FULLY_CONNECTED's per-row dynamic quantization of float32 rows to int8 for armv8
// NEON (every arm64 path), docs/quantization.md (14).
// Reference twin: eb_qd8_quantize_ref (qd8-quantize/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
// Stores int8 q (Qd8Kernel a_elem 1, a_offset 0), rows q_stride bytes apart; nothing past a row's k bytes.
//
// Two passes over a row, 16 floats per step. The first keeps 4 running minima and maxima (FMIN / FMAX, which return
// NaN when either operand is NaN), started at 0 as the reference's lo and hi; the row is finite exactly when the
// reduced lo and hi are (a NaN anywhere makes both NaN, an infinity makes one infinite), tested as the reference tests
// finiteness (v − v == 0) rather than through a max's NaN rule. Signed zeros may differ from the reference's compares
// (FMIN(0, −0) = −0), which changes neither s = (hi − lo) / 255 nor rne(lo / s). The per-row scalars s, zp, inv are
// the reference's statements. The second pass is (14)'s q = clamp(rne(x · inv) + zp, −128, 127): FMUL, FCVTNS
// (round to nearest even, as nearbyintf in the default mode; |x · inv| <= 255 (1 + 2^−22), so no saturation), UZP1 to
// int16 (exact: |v| <= 256), + zp in int16 (exact: |v + zp| <= 384), and SQXTN to int8, whose saturation is the
// clamp: 16 instructions per 16 floats. A row's last k mod 16 floats go through a 16-float buffer padded with zeros
// (0 changes neither lo = min(0, ...) nor hi = max(0, ...)), so both passes have one vector path.
// armv7 NEON flushes subnormal inputs (a row's range can be near FLT_MIN, where they matter) and has no rounding
// conversion: there this symbol is the reference kernel, row by row.
#include <arm_neon.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

#if defined(__aarch64__)
namespace {

inline bool finite(float v) { return v - v == 0.0f; }  // false for NaN and ±inf

// 16 quantized bytes of x (14): FCVTNS of x · inv, + zp, saturated to int8.
inline int8x16_t quantize16(const float* x, float32x4_t inv, int16x8_t zp) {
  const float32x4x4_t v = vld1q_f32_x4(x);
  const int32x4_t q0 = vcvtnq_s32_f32(vmulq_f32(v.val[0], inv)), q1 = vcvtnq_s32_f32(vmulq_f32(v.val[1], inv));
  const int32x4_t q2 = vcvtnq_s32_f32(vmulq_f32(v.val[2], inv)), q3 = vcvtnq_s32_f32(vmulq_f32(v.val[3], inv));
  const int16x8_t lo = vaddq_s16(vuzp1q_s16(vreinterpretq_s16_s32(q0), vreinterpretq_s16_s32(q1)), zp);
  const int16x8_t hi = vaddq_s16(vuzp1q_s16(vreinterpretq_s16_s32(q2), vreinterpretq_s16_s32(q3)), zp);
  return vqmovn_high_s16(vqmovn_s16(lo), hi);
}

}  // namespace

extern "C" void eb_qd8_quantize_ukernel__neon(size_t m, size_t k, const float* x, size_t x_stride, void* q_,
                                              size_t q_stride, eb_qd8_row_params* params) {
  int8_t* q = static_cast<int8_t*>(q_);
  const size_t body = k & ~static_cast<size_t>(15), tail = k - body;
  for (size_t r = 0; r < m; ++r, x += x_stride, q += q_stride) {
    float last[16] = {0};  // the row's last k mod 16 floats, then zeros
    if (tail != 0) memcpy(last, x + body, tail * sizeof(float));
    float32x4_t mn0 = vdupq_n_f32(0.0f), mn1 = mn0, mn2 = mn0, mn3 = mn0;
    float32x4_t mx0 = mn0, mx1 = mn0, mx2 = mn0, mx3 = mn0;
#define EB_MINMAX16(p)                                              \
  do {                                                              \
    const float32x4x4_t v = vld1q_f32_x4(p);                        \
    mn0 = vminq_f32(mn0, v.val[0]), mn1 = vminq_f32(mn1, v.val[1]); \
    mn2 = vminq_f32(mn2, v.val[2]), mn3 = vminq_f32(mn3, v.val[3]); \
    mx0 = vmaxq_f32(mx0, v.val[0]), mx1 = vmaxq_f32(mx1, v.val[1]); \
    mx2 = vmaxq_f32(mx2, v.val[2]), mx3 = vmaxq_f32(mx3, v.val[3]); \
  } while (0)
    for (size_t i = 0; i < body; i += 16) EB_MINMAX16(x + i);
    if (tail != 0) EB_MINMAX16(last);
#undef EB_MINMAX16
    const float lo = vminvq_f32(vminq_f32(vminq_f32(mn0, mn1), vminq_f32(mn2, mn3)));
    const float hi = vmaxvq_f32(vmaxq_f32(vmaxq_f32(mx0, mx1), vmaxq_f32(mx2, mx3)));
    if (!finite(lo) || !finite(hi)) {  // (14): a NaN or an infinity makes the row's outputs NaN on every ISA
      params[r].scale = NAN;
      params[r].zero_point = 0;
      memset(q, 0, k);
      continue;
    }
    const float s = (hi - lo) / 255.0f;
    if (!(s >= FLT_MIN)) {  // (14): an all-zero row, or one whose range is subnormal
      params[r].scale = 1.0f;
      params[r].zero_point = 0;
      memset(q, 0, k);
      continue;
    }
    int32_t zp = -128 - static_cast<int32_t>(nearbyintf(lo / s));
    zp = zp < -128 ? -128 : (zp > 127 ? 127 : zp);
    const float inv = 1.0f / s;
    const float32x4_t vinv = vdupq_n_f32(inv);
    const int16x8_t vzp = vdupq_n_s16(static_cast<int16_t>(zp));
    for (size_t i = 0; i < body; i += 16) vst1q_s8(q + i, quantize16(x + i, vinv, vzp));
    if (tail != 0) {
      int8_t bytes[16];
      vst1q_s8(bytes, quantize16(last, vinv, vzp));
      memcpy(q + body, bytes, tail);
    }
    params[r].scale = s;
    params[r].zero_point = zp;
  }
}
#else   // armv7: the reference, row by row into rows q_stride bytes apart (the GEMM's pair needs this signature)
extern "C" void eb_qd8_quantize_ukernel__neon(size_t m, size_t k, const float* x, size_t x_stride, void* q,
                                              size_t q_stride, eb_qd8_row_params* params) {
  for (size_t r = 0; r < m; ++r)
    eb_qd8_quantize_ref(1, k, x + r * x_stride, x_stride, static_cast<int8_t*>(q) + r * q_stride, params + r);
}
#endif  // __aarch64__
