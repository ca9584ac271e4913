// qs8_gemm_minmax_4x8c4__neondot_a55.cc: int8 GEMM microkernel for in-order dotprod cores (Cortex-A55, A510).
// Reference twin: eb_qs8_gemm_ref (qs8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// The same tile and packing as the 4x8c4 default (4 rows × 8 columns, [kc / 4][8][4] weights), scheduled for a core
// that issues in order: an A55 runs a 128-bit SDOT on both of its 64-bit NEON pipes, and a stalled instruction
// stalls everything behind it. So, per 8 k:
//   - each row is one 64-bit load (`ldr d`), and the SDOTs take its two 4-byte groups by lane (`sdot v.4s, w.16b,
//     a.4b[l]`): no broadcast instruction, 4 row loads instead of 8 (the default's ld1r per row and 4 k);
//   - the loads of the next 8 k are issued between the 16 SDOTs of this one (software pipelining by hand), so no
//     SDOT waits for its load, and GCC schedules the loop with its Cortex-A55 model (tune=cortex-a55);
//   - 8 accumulators, 16 independent SDOTs per step: each accumulator is reused 8 SDOTs later, past the latency.
// 24 instructions per 256 MACs plus the loop; llvm-mca -mcpu=cortex-a55 puts it well below the default's cycles,
// while on out-of-order cores the bigger-tile default wins (bench/arm_mca.py prints both).
// K steps of 4 left over (kc ≡ 4 mod 8) take one 4-byte load per row.
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 4, kNR = 8;

inline int8x8_t load4(const int8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return vreinterpret_s8_s32(vdup_n_s32(v));
}
}  // namespace

extern "C" __attribute__((target("tune=cortex-a55"))) void eb_qs8_gemm_minmax_ukernel_4x8c4__neondot_a55(
    size_t mr, size_t nc, size_t kc, const int8_t* a, size_t a_stride, const void* w, int8_t* c, size_t c_stride,
    const eb_qs8_requant_params* rq) {
  const int8_t* r0 = a;
  const int8_t* r1 = a + (mr > 1 ? 1 : 0) * a_stride;
  const int8_t* r2 = a + (mr > 2 ? 2 : mr - 1) * a_stride;
  const int8_t* r3 = a + (mr > 3 ? 3 : mr - 1) * a_stride;
  const int32_t* header = static_cast<const int32_t*>(w);
  int32x4_t c0l = vld1q_s32(header), c0h = vld1q_s32(header + 4);
  int32x4_t c1l = c0l, c1h = c0h, c2l = c0l, c2h = c0h, c3l = c0l, c3h = c0h;
  const int8_t* wp = reinterpret_cast<const int8_t*>(header + 4 * kNR);
  size_t k = kc;
  if (k >= 8) {
    // Software pipeline: x* / w* hold the operands of the step in flight; the loop body loads the next step's.
    int8x8_t x0 = vld1_s8(r0), x1 = vld1_s8(r1), x2 = vld1_s8(r2), x3 = vld1_s8(r3);
    int8x16_t w0 = vld1q_s8(wp), w1 = vld1q_s8(wp + 16), w2 = vld1q_s8(wp + 32), w3 = vld1q_s8(wp + 48);
    r0 += 8, r1 += 8, r2 += 8, r3 += 8, wp += 64;
    for (k -= 8; k >= 8; k -= 8) {
      c0l = vdotq_lane_s32(c0l, w0, x0, 0);
      c0h = vdotq_lane_s32(c0h, w1, x0, 0);
      const int8x16_t n0 = vld1q_s8(wp);
      c1l = vdotq_lane_s32(c1l, w0, x1, 0);
      c1h = vdotq_lane_s32(c1h, w1, x1, 0);
      const int8x16_t n1 = vld1q_s8(wp + 16);
      c2l = vdotq_lane_s32(c2l, w0, x2, 0);
      c2h = vdotq_lane_s32(c2h, w1, x2, 0);
      const int8x16_t n2 = vld1q_s8(wp + 32);
      c3l = vdotq_lane_s32(c3l, w0, x3, 0);
      c3h = vdotq_lane_s32(c3h, w1, x3, 0);
      const int8x16_t n3 = vld1q_s8(wp + 48);
      c0l = vdotq_lane_s32(c0l, w2, x0, 1);
      c0h = vdotq_lane_s32(c0h, w3, x0, 1);
      x0 = vld1_s8(r0);
      c1l = vdotq_lane_s32(c1l, w2, x1, 1);
      c1h = vdotq_lane_s32(c1h, w3, x1, 1);
      x1 = vld1_s8(r1);
      c2l = vdotq_lane_s32(c2l, w2, x2, 1);
      c2h = vdotq_lane_s32(c2h, w3, x2, 1);
      x2 = vld1_s8(r2);
      c3l = vdotq_lane_s32(c3l, w2, x3, 1);
      c3h = vdotq_lane_s32(c3h, w3, x3, 1);
      x3 = vld1_s8(r3);
      w0 = n0, w1 = n1, w2 = n2, w3 = n3;
      r0 += 8, r1 += 8, r2 += 8, r3 += 8, wp += 64;
    }
    c0l = vdotq_lane_s32(c0l, w0, x0, 0);
    c0h = vdotq_lane_s32(c0h, w1, x0, 0);
    c1l = vdotq_lane_s32(c1l, w0, x1, 0);
    c1h = vdotq_lane_s32(c1h, w1, x1, 0);
    c2l = vdotq_lane_s32(c2l, w0, x2, 0);
    c2h = vdotq_lane_s32(c2h, w1, x2, 0);
    c3l = vdotq_lane_s32(c3l, w0, x3, 0);
    c3h = vdotq_lane_s32(c3h, w1, x3, 0);
    c0l = vdotq_lane_s32(c0l, w2, x0, 1);
    c0h = vdotq_lane_s32(c0h, w3, x0, 1);
    c1l = vdotq_lane_s32(c1l, w2, x1, 1);
    c1h = vdotq_lane_s32(c1h, w3, x1, 1);
    c2l = vdotq_lane_s32(c2l, w2, x2, 1);
    c2h = vdotq_lane_s32(c2h, w3, x2, 1);
    c3l = vdotq_lane_s32(c3l, w2, x3, 1);
    c3h = vdotq_lane_s32(c3h, w3, x3, 1);
  }
  if (k != 0) {  // kc ≡ 4 (mod 8): the last 4 k
    const int8x16_t w0 = vld1q_s8(wp), w1 = vld1q_s8(wp + 16);
    const int8x8_t x0 = load4(r0), x1 = load4(r1), x2 = load4(r2), x3 = load4(r3);
    c0l = vdotq_lane_s32(c0l, w0, x0, 0);
    c0h = vdotq_lane_s32(c0h, w1, x0, 0);
    c1l = vdotq_lane_s32(c1l, w0, x1, 0);
    c1h = vdotq_lane_s32(c1h, w1, x1, 0);
    c2l = vdotq_lane_s32(c2l, w0, x2, 0);
    c2h = vdotq_lane_s32(c2h, w1, x2, 0);
    c3l = vdotq_lane_s32(c3l, w0, x3, 0);
    c3h = vdotq_lane_s32(c3h, w1, x3, 0);
  }
  // docs/quantization.md (5) per lane, then + zp and the clamp (6), as the default kernel does.
  const int32x4_t mult_lo = vld1q_s32(header + kNR), mult_hi = vld1q_s32(header + kNR + 4);
  const int32x4_t left_lo = vld1q_s32(header + 2 * kNR), left_hi = vld1q_s32(header + 2 * kNR + 4);
  const int32x4_t right_lo = vld1q_s32(header + 3 * kNR), right_hi = vld1q_s32(header + 3 * kNR + 4);
  const int32x4_t lo = vdupq_n_s32(rq->lo), hi = vdupq_n_s32(rq->hi), zp = vdupq_n_s32(rq->output_zero_point);
  const int32x4_t acc_lo[kMR] = {c0l, c1l, c2l, c3l}, acc_hi[kMR] = {c0h, c1h, c2h, c3h};
  for (size_t i = 0; i < mr; ++i) {
    int8_t out[8];
    vst1_s8(out, eb_narrow8_neon(eb_requant_neon(acc_lo[i], mult_lo, left_lo, right_lo, lo, hi, zp),
                                 eb_requant_neon(acc_hi[i], mult_hi, left_hi, right_hi, lo, hi, zp)));
    memcpy(c + i * c_stride, out, nc);
  }
}
