// qd8_packb_x16c4__neondot.cc: ATTENTION's / DYNAMIC_BATCH_MATMUL's b quantized per vector (docs/quantization.md
// (16)) and packed for eb_qd8_gemm_minmax_ukernel_4x16c4__neondot (blocks of 16 columns, k in groups of 4 bytes) in
// one pass over b's strided view, no transposed copy and no code buffer (dotprod and I8MM cores: Cortex-A55/A76+).
// Reference twin: eb_qd8_packb_ref (qd8-packb/ref.cc) at nr 16, kr 4, w_elem 1; equal bit for bit
// (kernels/test/ukernel_tester.cc).
//
// Per vector, the reference's steps in lanes: |max| by FABS + FMAX, which returns NaN when either operand is NaN, so
// the reduced max is NaN or ∞ exactly when the vector holds a NaN or an infinity (the reference's finiteness, tested as
// max <= FLT_MAX); s = max / 127 and inv = 1 / s by FDIV (IEEE, as the scalar division); the codes by FMUL and FCVTNS
// (round to nearest even, as nearbyintf; a non-finite or all-zero vector has inv = 0, and FCVTNS gives 0 for the
// NaN of ∞ · 0). No clamp: for a vector with s >= FLT_MIN, |v · inv| <= max · fl(1 / fl(max / 127)) <= 127 (1 + 2^-22)
// rounds to at most 127, so the reference's clamp to ±127 never bites and UZP1 narrows the int32 codes exactly. The
// column sums Σ codes by SDOT with ones on the packed 4-byte groups.
// - Column form (stride_j == 1: a vector is a column of a row-major matrix, ATTENTION's V): 16 vectors are one
//   64-byte row; a first pass keeps their max, the second takes 4 rows at a time and interleaves their codes into
//   16 groups of 4 bytes by ZIP1 / ZIP2 (8 per 64 bytes), one 64-byte store.
// - Row form (stride_t == 1: a vector is contiguous, ATTENTION's K): 4 vectors at a time, 16 floats a step; their
//   maxima meet in one register (FMAXP), the scalars of 4 vectors are one FDIV each, and each step's 4 × 16 codes are
//   a 4 × 4 transpose of 4-byte groups (ZIP of 32 and 64-bit lanes): 4 stores of 16 bytes.
// The row form's last k mod 16 floats go through 16-float buffers padded with zeros (0 changes no max and gives code
// 0, the packing's padding); a column form's last block of fewer than 16 vectors, and views with neither stride 1,
// run the reference (a block at a time: blocks are independent).
#include <arm_neon.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

namespace {

constexpr size_t kNr = 16;

struct Scalars {
  float32x4_t inv, ws;
};

// (16)'s per-vector scalars of 4 vectors from their |max|: inv (0 where the codes are 0) and w_scale · alpha.
inline Scalars scalars(float32x4_t mx, float alpha) {
  const float32x4_t s = vdivq_f32(mx, vdupq_n_f32(127.0f));
  const uint32x4_t ok = vcleq_f32(mx, vdupq_n_f32(FLT_MAX));
  const uint32x4_t good = vandq_u32(ok, vcgeq_f32(s, vdupq_n_f32(FLT_MIN)));
  Scalars r;
  r.inv = vreinterpretq_f32_u32(vandq_u32(good, vreinterpretq_u32_f32(vdivq_f32(vdupq_n_f32(1.0f), s))));
  const float32x4_t scale = vbslq_f32(good, s, vbslq_f32(ok, vdupq_n_f32(1.0f), vdupq_n_f32(NAN)));
  r.ws = vmulq_f32(scale, vdupq_n_f32(alpha));  // DYNAMIC_BATCH_MATMUL: w_scale = s_b · alpha
  return r;
}

// The int32 codes of 16 values, narrowed to bytes (exact: |code| <= 127).
inline int8x16_t narrow(int32x4_t q0, int32x4_t q1, int32x4_t q2, int32x4_t q3) {
  const int16x8_t lo = vuzp1q_s16(vreinterpretq_s16_s32(q0), vreinterpretq_s16_s32(q1));
  const int16x8_t hi = vuzp1q_s16(vreinterpretq_s16_s32(q2), vreinterpretq_s16_s32(q3));
  return vuzp1q_s8(vreinterpretq_s8_s16(lo), vreinterpretq_s8_s16(hi));
}

// The 16 codes of x at lane L's inv (FMUL by element: the same product as the scalar one).
template <int L>
inline int8x16_t codes(const float* x, float32x4_t inv) {
  const float32x4x4_t v = vld1q_f32_x4(x);
  return narrow(vcvtnq_s32_f32(vmulq_laneq_f32(v.val[0], inv, L)), vcvtnq_s32_f32(vmulq_laneq_f32(v.val[1], inv, L)),
                vcvtnq_s32_f32(vmulq_laneq_f32(v.val[2], inv, L)), vcvtnq_s32_f32(vmulq_laneq_f32(v.val[3], inv, L)));
}

inline int32x4_t s32(int8x16_t v) { return vreinterpretq_s32_s8(v); }
inline int64x2_t s64(int32x4_t v) { return vreinterpretq_s64_s32(v); }
inline int8x16_t s8(int64x2_t v) { return vreinterpretq_s8_s64(v); }

// The 4 × 16 codes of 4 vectors at 16 consecutive k, as 4 groups of 4 bytes per vector: a 4 × 4 transpose of 4-byte
// groups (ZIP of 32 and 64-bit lanes), the first `groups` of them stored 64 bytes apart and summed into acc.
inline void store_groups(const int8x16_t* q, size_t groups, uint8_t* w, int32x4_t* acc) {
  const int8x16_t ones = vdupq_n_s8(1);
  const int32x4_t t01 = vzip1q_s32(s32(q[0]), s32(q[1])), t23 = vzip1q_s32(s32(q[2]), s32(q[3]));
  const int32x4_t u01 = vzip2q_s32(s32(q[0]), s32(q[1])), u23 = vzip2q_s32(s32(q[2]), s32(q[3]));
  const int8x16_t g[4] = {s8(vzip1q_s64(s64(t01), s64(t23))), s8(vzip2q_s64(s64(t01), s64(t23))),
                          s8(vzip1q_s64(s64(u01), s64(u23))), s8(vzip2q_s64(s64(u01), s64(u23)))};
  for (size_t i = 0; i < groups; ++i) {
    *acc = vdotq_s32(*acc, g[i], ones);
    vst1q_s8(reinterpret_cast<int8_t*>(w + 4 * kNr * i), g[i]);
  }
}

inline float32x4_t absmax16(float32x4_t m, const float* x) {
  const float32x4x4_t v = vld1q_f32_x4(x);
  const float32x4_t a = vmaxq_f32(vabsq_f32(v.val[0]), vabsq_f32(v.val[1]));
  return vmaxq_f32(m, vmaxq_f32(a, vmaxq_f32(vabsq_f32(v.val[2]), vabsq_f32(v.val[3]))));
}

// 16 vectors of a row-major matrix (rows ld floats apart), a full block.
void column_block(size_t k, const float* b, size_t ld, float alpha, uint8_t* out) {
  float32x4_t mx0 = vdupq_n_f32(0.0f), mx1 = mx0, mx2 = mx0, mx3 = mx0;
  for (size_t t = 0; t < k; ++t) {
    const float32x4x4_t v = vld1q_f32_x4(b + t * ld);
    mx0 = vmaxq_f32(mx0, vabsq_f32(v.val[0])), mx1 = vmaxq_f32(mx1, vabsq_f32(v.val[1]));
    mx2 = vmaxq_f32(mx2, vabsq_f32(v.val[2])), mx3 = vmaxq_f32(mx3, vabsq_f32(v.val[3]));
  }
  const Scalars c0 = scalars(mx0, alpha), c1 = scalars(mx1, alpha), c2 = scalars(mx2, alpha), c3 = scalars(mx3, alpha);
  vst1q_f32_x4(reinterpret_cast<float*>(out + 4 * kNr), {{c0.ws, c1.ws, c2.ws, c3.ws}});
  const float32x4_t nz = vdupq_n_f32(-0.0f);  // no bias: x + (−0) == x
  vst1q_f32_x4(reinterpret_cast<float*>(out + 8 * kNr), {{nz, nz, nz, nz}});
  const int8x16_t ones = vdupq_n_s8(1);
  int32x4_t acc0 = vdupq_n_s32(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  uint8_t* w = out + 12 * kNr;
  for (size_t t0 = 0; t0 < k; t0 += 4, w += 4 * kNr) {
    int8x16_t r[4];
    for (size_t i = 0; i < 4; ++i) {
      if (t0 + i >= k) {  // k's padding to kr: code 0
        r[i] = vdupq_n_s8(0);
        continue;
      }
      const float32x4x4_t v = vld1q_f32_x4(b + (t0 + i) * ld);
      r[i] = narrow(vcvtnq_s32_f32(vmulq_f32(v.val[0], c0.inv)), vcvtnq_s32_f32(vmulq_f32(v.val[1], c1.inv)),
                    vcvtnq_s32_f32(vmulq_f32(v.val[2], c2.inv)), vcvtnq_s32_f32(vmulq_f32(v.val[3], c3.inv)));
    }
    // Column c's 4 bytes (rows t0..t0 + 3) together: byte zips, then 16-bit zips.
    const int8x16_t z0 = vzip1q_s8(r[0], r[1]), z1 = vzip2q_s8(r[0], r[1]);
    const int8x16_t z2 = vzip1q_s8(r[2], r[3]), z3 = vzip2q_s8(r[2], r[3]);
    int8x16x4_t g;
    g.val[0] = vreinterpretq_s8_s16(vzip1q_s16(vreinterpretq_s16_s8(z0), vreinterpretq_s16_s8(z2)));
    g.val[1] = vreinterpretq_s8_s16(vzip2q_s16(vreinterpretq_s16_s8(z0), vreinterpretq_s16_s8(z2)));
    g.val[2] = vreinterpretq_s8_s16(vzip1q_s16(vreinterpretq_s16_s8(z1), vreinterpretq_s16_s8(z3)));
    g.val[3] = vreinterpretq_s8_s16(vzip2q_s16(vreinterpretq_s16_s8(z1), vreinterpretq_s16_s8(z3)));
    acc0 = vdotq_s32(acc0, g.val[0], ones), acc1 = vdotq_s32(acc1, g.val[1], ones);
    acc2 = vdotq_s32(acc2, g.val[2], ones), acc3 = vdotq_s32(acc3, g.val[3], ones);
    vst1q_s8_x4(reinterpret_cast<int8_t*>(w), g);
  }
  vst1q_s32_x4(reinterpret_cast<int32_t*>(out), {{acc0, acc1, acc2, acc3}});
}

// Contiguous vectors (stride_j floats apart), one block of nc <= 16, 4 at a time. A missing vector of the last 4
// reads the first one again with inv 0 (codes 0) and w_scale 0; k's last k mod 16 floats go through buffers.
void row_block(size_t nc, size_t k, const float* b, size_t stride_j, float alpha, uint8_t* out) {
  static const uint32_t kLane[4] = {0, 1, 2, 3};
  const size_t body = k & ~static_cast<size_t>(15), tail = k - body, tail_groups = (tail + 3) / 4;
  float buf[4][16];
  const float32x4_t nz = vdupq_n_f32(-0.0f);  // no bias: x + (−0) == x
  vst1q_f32_x4(reinterpret_cast<float*>(out + 8 * kNr), {{nz, nz, nz, nz}});
  for (size_t c0 = 0; c0 < nc; c0 += 4) {
    const size_t nv = nc - c0 < 4 ? nc - c0 : 4;
    const float* p[4];
    for (size_t i = 0; i < 4; ++i) p[i] = b + (c0 + (i < nv ? i : 0)) * stride_j;
    if (tail != 0)
      for (size_t i = 0; i < 4; ++i) {
        memset(buf[i], 0, sizeof buf[i]);
        memcpy(buf[i], p[i] + body, tail * sizeof(float));
      }
    float32x4_t m[4];
    for (size_t i = 0; i < 4; ++i) {
      float32x4_t a = vdupq_n_f32(0.0f);
      for (size_t t = 0; t < body; t += 16) a = absmax16(a, p[i] + t);
      m[i] = tail != 0 ? absmax16(a, buf[i]) : a;
    }
    Scalars sc = scalars(vpmaxq_f32(vpmaxq_f32(m[0], m[1]), vpmaxq_f32(m[2], m[3])), alpha);
    const uint32x4_t valid = vcltq_u32(vld1q_u32(kLane), vdupq_n_u32((uint32_t)nv));
    sc.inv = vreinterpretq_f32_u32(vandq_u32(valid, vreinterpretq_u32_f32(sc.inv)));
    vst1q_f32(reinterpret_cast<float*>(out + 4 * (kNr + c0)),
              vreinterpretq_f32_u32(vandq_u32(valid, vreinterpretq_u32_f32(sc.ws))));  // missing vectors: 0
    int32x4_t acc = vdupq_n_s32(0);
    uint8_t* w = out + 12 * kNr + 4 * c0;
    for (size_t t = 0; t < body; t += 16, w += 16 * kNr) {
      const int8x16_t q[4] = {codes<0>(p[0] + t, sc.inv), codes<1>(p[1] + t, sc.inv), codes<2>(p[2] + t, sc.inv),
                              codes<3>(p[3] + t, sc.inv)};
      store_groups(q, 4, w, &acc);
    }
    if (tail != 0) {
      const int8x16_t q[4] = {codes<0>(buf[0], sc.inv), codes<1>(buf[1], sc.inv), codes<2>(buf[2], sc.inv),
                              codes<3>(buf[3], sc.inv)};
      store_groups(q, tail_groups, w, &acc);
    }
    vst1q_s32(reinterpret_cast<int32_t*>(out + 4 * c0), acc);
  }
}

}  // namespace

extern "C" void eb_qd8_packb_ukernel_x16c4__neondot(size_t n, size_t k, const float* b, size_t stride_j,
                                                    size_t stride_t, float alpha, void* packed) {
  const size_t kc = (k + 3) / 4 * 4, bb = eb_qd8_block_bytes(kNr, kc, 1);
  uint8_t* out = static_cast<uint8_t*>(packed);
  if (stride_j != 1 && stride_t != 1) {
    eb_qd8_packb_ref(kNr, 4, 1, n, k, b, stride_j, stride_t, alpha, packed);
    return;
  }
  for (size_t j0 = 0; j0 < n; j0 += kNr, out += bb) {
    const size_t nc = n - j0 < kNr ? n - j0 : kNr;
    if (stride_j == 1 && nc == kNr) {
      column_block(k, b + j0, stride_t, alpha, out);
    } else if (stride_j == 1) {  // a last block of fewer than 16 interleaved vectors: the reference, for that block
      eb_qd8_packb_ref(kNr, 4, 1, nc, k, b + j0, 1, stride_t, alpha, out);
    } else {
      if (nc < kNr) memset(out, 0, bb);  // padded columns: wsum, w_scale and codes 0
      row_block(nc, k, b + j0 * stride_j, stride_j, alpha, out);
    }
  }
}
