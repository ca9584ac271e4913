// qs8_gemm_minmax_4x8c4__neondot_a55.cc: int8 GEMM microkernel for in-order dotprod cores (Cortex-A55, A510).
// Reference twin: eb_qs8_gemm_ref (qs8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// The same tile and packing as the 4x8c4 layout (4 rows × 8 columns, [kc / 4][8][4] weights), scheduled for a core
// that issues in order, two instructions a cycle, one load a cycle: a stalled instruction stalls everything behind
// it, and there is no reordering to hide a load's latency. Per 8 k:
//   - each row is one 64-bit load (`ldr d`), and the SDOTs take its two 4-byte groups by lane (`sdot v.4s, w.16b,
//     a.4b[l]`): no broadcast instruction;
//   - the weights are 4 single `ldr q` at immediate offsets from one pointer: no `ldp q` (6 cycles of the load pipe
//     in LLVM's Cortex-A55 model against 1 for each `ldr q`), no post-increment chain on the weight pointer;
//   - software-pipelined: the loads of the next 8 k sit between the 16 SDOTs of this one, one load after every two
//     SDOTs, into a second register set (the loop body is two steps, A then B), so no SDOT waits for its operands;
//   - 8 accumulators: an accumulator is reused 8 SDOTs later, past the SDOT latency.
// The K loop is inline assembly: from intrinsics, GCC 12 (with or without tune=cortex-a55) moves the next step's
// weight loads to the end of the loop and pairs them into `ldp q`, so the loop's first SDOTs wait on them; the
// intrinsics cannot pin that order. bench/arm_mca.py gives the loop's cycles on A55 and A76 against the default.
// Steps before and after the loop, and a last 4 k (kc ≡ 4 mod 8), use intrinsics with the same arithmetic.
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

extern "C" void eb_qs8_gemm_minmax_ukernel_4x8c4__neondot_a55(size_t mr, size_t nc, size_t kc, const int8_t* a,
                                                              size_t a_stride, const void* w, int8_t* c,
                                                              size_t c_stride, const eb_qs8_requant_params* rq) {
  const int8_t* r0 = a;
  const int8_t* r1 = a + (mr > 1 ? 1 : 0) * a_stride;
  const int8_t* r2 = a + (mr > 2 ? 2 : mr - 1) * a_stride;
  const int8_t* r3 = a + (mr > 3 ? 3 : mr - 1) * a_stride;
  const int32_t* header = static_cast<const int32_t*>(w);
  int32x4_t c0l = vld1q_s32(header), c0h = vld1q_s32(header + 4);
  int32x4_t c1l = c0l, c1h = c0h, c2l = c0l, c2h = c0h, c3l = c0l, c3h = c0h;
  const int8_t* wp = reinterpret_cast<const int8_t*>(header + 4 * kNR);
  const size_t steps = kc / 8;  // steps of 8 k
  if (steps != 0) {
    // The whole K loop is one asm statement, so that the two operand sets can live in fixed registers named in the
    // clobbers (GCC allows 30 asm operands; the accumulators and pointers take 29): step A in v24-v27 (rows,
    // 64-bit) and v28-v31 (weights), step B in v0-v3 and v4-v7. The prologue loads the first step into A; each
    // loop iteration computes A while loading B, then B while loading the next A; then the 1 or 2 steps left.
    size_t pairs = (steps - 1) / 2;
    const size_t two = (steps - 1) % 2;  // 1: two steps are left after the loop
    // One instruction per line below: clang-format would pack the string macros into one run-on line.
    // clang-format off
#define EB_SDOT(c, w, x, lane) "sdot %[" c "].4s, " w ".16b, " x ".4b[" lane "]\n\t"
#define EB_LOAD(xb0, xb1, xb2, xb3, wb0, wb1, wb2, wb3, off) \
  "ldr " xb0 ", [%[r0]]\n\t"                                 \
  "ldr " xb1 ", [%[r1]]\n\t"                                 \
  "ldr " xb2 ", [%[r2]]\n\t"                                 \
  "ldr " xb3 ", [%[r3]]\n\t"                                 \
  "ldr " wb0 ", [%[wp], #" off "]\n\t"                       \
  "ldr " wb1 ", [%[wp], #" off " + 16]\n\t"                  \
  "ldr " wb2 ", [%[wp], #" off " + 32]\n\t"                  \
  "ldr " wb3 ", [%[wp], #" off " + 48]\n\t"
// One step's 16 SDOTs (rows xa*, weights wa*), with the next step's 8 loads (into xb*, wb*) one after every two;
// p0..p3 and pw are issued after the loads from r0..r3 and after the last weight load (pointer updates and the loop
// count: integer instructions that pair with an SDOT instead of queueing at the loop end).
#define EB_STEP(xa0, xa1, xa2, xa3, wa0, wa1, wa2, wa3, xb0, xb1, xb2, xb3, wb0, wb1, wb2, wb3, roff, off, p0, p1, p2, p3, pw) \
  EB_SDOT("c0l", wa0, xa0, "0") EB_SDOT("c0h", wa1, xa0, "0") "ldr " xb0 ", [%[r0], #" roff "]\n\t" p0     \
  EB_SDOT("c1l", wa0, xa1, "0") EB_SDOT("c1h", wa1, xa1, "0") "ldr " xb1 ", [%[r1], #" roff "]\n\t" p1     \
  EB_SDOT("c2l", wa0, xa2, "0") EB_SDOT("c2h", wa1, xa2, "0") "ldr " xb2 ", [%[r2], #" roff "]\n\t" p2     \
  EB_SDOT("c3l", wa0, xa3, "0") EB_SDOT("c3h", wa1, xa3, "0") "ldr " xb3 ", [%[r3], #" roff "]\n\t" p3     \
  EB_SDOT("c0l", wa2, xa0, "1") EB_SDOT("c0h", wa3, xa0, "1") "ldr " wb0 ", [%[wp], #" off "]\n\t"         \
  EB_SDOT("c1l", wa2, xa1, "1") EB_SDOT("c1h", wa3, xa1, "1") "ldr " wb1 ", [%[wp], #" off " + 16]\n\t"    \
  EB_SDOT("c2l", wa2, xa2, "1") EB_SDOT("c2h", wa3, xa2, "1") "ldr " wb2 ", [%[wp], #" off " + 32]\n\t"    \
  EB_SDOT("c3l", wa2, xa3, "1") EB_SDOT("c3h", wa3, xa3, "1") "ldr " wb3 ", [%[wp], #" off " + 48]\n\t" pw
// Row pointers and the weight pointer past what was loaded (immediate offsets above: a load with writeback costs more
// issue slots on an in-order core than an add beside an SDOT).
#define EB_ADVANCE(rows, weights)          \
  "add %[r0], %[r0], #" rows "\n\t"       \
  "add %[r1], %[r1], #" rows "\n\t"       \
  "add %[r2], %[r2], #" rows "\n\t"       \
  "add %[r3], %[r3], #" rows "\n\t"       \
  "add %[wp], %[wp], #" weights "\n\t"
// The last step's 16 SDOTs, nothing to load.
#define EB_LAST(xa0, xa1, xa2, xa3, wa0, wa1, wa2, wa3)                                          \
  EB_SDOT("c0l", wa0, xa0, "0") EB_SDOT("c0h", wa1, xa0, "0") EB_SDOT("c1l", wa0, xa1, "0")      \
  EB_SDOT("c1h", wa1, xa1, "0") EB_SDOT("c2l", wa0, xa2, "0") EB_SDOT("c2h", wa1, xa2, "0")      \
  EB_SDOT("c3l", wa0, xa3, "0") EB_SDOT("c3h", wa1, xa3, "0") EB_SDOT("c0l", wa2, xa0, "1")      \
  EB_SDOT("c0h", wa3, xa0, "1") EB_SDOT("c1l", wa2, xa1, "1") EB_SDOT("c1h", wa3, xa1, "1")      \
  EB_SDOT("c2l", wa2, xa2, "1") EB_SDOT("c2h", wa3, xa2, "1") EB_SDOT("c3l", wa2, xa3, "1")      \
  EB_SDOT("c3h", wa3, xa3, "1")
    // clang-format on
    __asm__ volatile(
        EB_LOAD("d24", "d25", "d26", "d27", "q28", "q29", "q30", "q31", "0")
        EB_ADVANCE("8", "64")
        "cbz %[pairs], 3f\n\t"
        "1:\n\t"
        EB_STEP("v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "d0", "d1", "d2", "d3", "q4", "q5", "q6", "q7",
                "0", "0", "subs %[pairs], %[pairs], #1\n\t", "", "", "", "")
        EB_STEP("v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "d24", "d25", "d26", "d27", "q28", "q29", "q30", "q31",
                "8", "64", "add %[r0], %[r0], #16\n\t", "add %[r1], %[r1], #16\n\t", "add %[r2], %[r2], #16\n\t",
                "add %[r3], %[r3], #16\n\t", "add %[wp], %[wp], #128\n\t")
        "b.ne 1b\n\t"
        "3:\n\t"
        "cbz %[two], 4f\n\t"
        EB_STEP("v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "d0", "d1", "d2", "d3", "q4", "q5", "q6", "q7",
                "0", "0", "", "", "", "", "")
        EB_ADVANCE("8", "64")
        EB_LAST("v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7")
        "b 5f\n\t"
        "4:\n\t"
        EB_LAST("v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31")
        "5:\n\t"
        : [c0l] "+w"(c0l), [c0h] "+w"(c0h), [c1l] "+w"(c1l), [c1h] "+w"(c1h), [c2l] "+w"(c2l), [c2h] "+w"(c2h),
          [c3l] "+w"(c3l), [c3h] "+w"(c3h), [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [r3] "+r"(r3),
          [wp] "+r"(wp), [pairs] "+r"(pairs)
        : [two] "r"(two)
        : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v24", "v25", "v26", "v27", "v28", "v29",
          "v30", "v31");
#undef EB_LAST
#undef EB_ADVANCE
#undef EB_STEP
#undef EB_LOAD
#undef EB_SDOT
  }
  if (kc % 8 != 0) {  // kc ≡ 4 (mod 8): the last 4 k
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
