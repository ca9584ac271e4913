// f32math_ulp.cc: the error of f32math.h's float functions against glibc's long double ones (64-bit significand,
// ~1 long double ulp: far finer than a float ulp), over every `stride`-th float in [−lim, lim] (default every float
// whose exponent the function can use). Build and run on x86-64 (long double = x87 extended):
//   g++ -O2 -ffp-contract=off -Ikernels/include scripts/f32math_ulp.cc -o /tmp/ulp && /tmp/ulp [stride] [gelu]
// Prints, per function, the largest distance in float ulps from the correctly rounded result and how many inputs
// were not correctly rounded. docs/artifact.md "Float functions" quotes it. With `gelu`, only GELU, over every
// `stride`-th of all 2^32 bit patterns (stride 1: every float32, ~5 CPU minutes), split by where the result lies.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgebuild/f32math.h"

namespace {

float from_u(uint32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}
uint32_t to_u(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}
// Signed distance in ulps on the float line (monotone integer map).
int64_t ord(float f) {
  const uint32_t b = to_u(f);
  return b & 0x80000000u ? -(int64_t)(b & 0x7fffffffu) : (int64_t)b;
}

typedef long double (*Exact)(long double);
typedef double (*Mine)(double);

long double x_gelu(long double x) { return 0.5L * x * erfcl(-x / sqrtl(2.0L)); }
long double x_gelu_tanh(long double x) {
  const long double inner = sqrtl(2.0L / 3.14159265358979323846264338327950288L) * (x + 0.044715L * x * x * x);
  return x / (1.0L + expl(-2.0L * inner));  // = 0.5·x·(1 + tanh(inner)) without its cancellation
}
long double x_silu(long double x) { return x / (1.0L + expl(-x)); }
long double x_sigmoid(long double x) { return 1.0L / (1.0L + expl(-x)); }

// GELU is float32 arithmetic (eb_gelu_f32); its float input and result pass through double exactly.
double gelu_f32(double x) { return (double)eb_gelu_f32<float, int32_t, uint32_t>((float)x); }

// GELU over every stride-th bit pattern, the kernel as UNARY's reference runs it (f32-unary/ref.cc: a NaN input comes
// back quiet, a NaN made is 0x7fc00000). Against x·Φ(x) in long double: below −15 the true value is under 2^-150
// (rounds to −0) and above 10 it is x·(1 − δ), δ < 2^-70 (rounds to x), so those take no erfcl. Reports the largest
// ulp distance where the correctly rounded result is a normal float, the largest absolute error (in units of the
// smallest subnormal, 2^-149) where it is subnormal or zero, and any special value that differs from today's rules.
void sweep_gelu(uint32_t stride) {
  int64_t n = 0, normal = 0, wrong = 0, worst = 0, tiny = 0, tiny_worst = 0, bad = 0;
  float worst_x = 0.0f, tiny_x = 0.0f;
  double worst_exact = 0.0;
  float worst_exact_x = 0.0f;
  for (uint64_t b = 0; b < 0x100000000ull; b += stride) {
    const float x = from_u((uint32_t)b);
    ++n;
    float got = x != x ? eb_f32_quiet(x) : eb_gelu_f32<float, int32_t, uint32_t>(x);
    if (x == x && got != got) got = eb_f32_nan();
    if (x != x || x == -INFINITY || x == INFINITY) {  // the rules: quiet NaN, +inf, NaN (−inf · 0)
      const uint32_t want = x != x ? (uint32_t)b | 0x00400000u : x > 0 ? (uint32_t)b : 0x7fc00000u;
      if (to_u(got) != want) ++bad, printf("gelu special %08x: got %08x want %08x\n", (unsigned)b, to_u(got), want);
      continue;
    }
    const long double e = x < -15.0f  ? -0.0L
                          : x > 10.0f ? (long double)x
                                      : 0.5L * x * erfcl(-(long double)x / sqrtl(2.0L));
    float want = (float)e;
    // |x| < 2^-60: e is x/2 in long double (x·(Φ(x) − 1/2) > 0 is below its precision); that nudge breaks a tie
    // (x/2 halfway between two subnormals) towards +inf
    if (fabsf(x) < 0x1p-60f && (long double)want != e)
      want = fabsl(nextafterf(want, INFINITY) - e) <= fabsl(want - e) ? nextafterf(want, INFINITY) : want;
    if (want == 0.0f && to_u(got) != to_u(want))
      ++bad, printf("gelu %a: got %a want %a (sign of zero)\n", x, got, want);
    const int64_t d = llabs(ord(got) - ord(want));
    if (d != 0) ++wrong;
    if (fabsf(want) >= 0x1p-126f) {
      ++normal;
      if (d > worst) worst = d, worst_x = x;
      const double ex = (double)(fabsl((long double)got - e) / ldexpl(1.0L, ilogbl((long double)want) - 23));
      if (ex > worst_exact) worst_exact = ex, worst_exact_x = x;
    } else {
      ++tiny;
      if (d > tiny_worst) tiny_worst = d, tiny_x = x;  // subnormal steps are 2^-149 apart: d is the absolute error
    }
  }
  printf(
      "gelu %lld inputs, %lld not correctly rounded; %lld with a normal result: max %lld ulp (at %a; %.3f ulp from "
      "the exact value at %a); %lld subnormal or zero: max %lld * 2^-149 (at %a); %lld special values wrong\n",
      (long long)n, (long long)wrong, (long long)normal, (long long)worst, (double)worst_x, worst_exact,
      (double)worst_exact_x, (long long)tiny, (long long)tiny_worst, (double)tiny_x, (long long)bad);
}
// SOFTMAX's exp (eb_exp_f32_nonpos) is float32 arithmetic too, for x <= 0.
double exp_f32_nonpos(double x) { return (double)eb_exp_f32_nonpos<float, int32_t, uint32_t>((float)x); }

void sweep(const char* name, Mine mine, Exact exact, float lo, float hi, uint32_t stride) {
  int64_t worst = 0, wrong = 0, n = 0;
  float worst_x = 0.0f;
  for (uint64_t b = 0; b < 0x100000000ull; b += stride) {
    const float x = from_u((uint32_t)b);
    if (!(x >= lo && x <= hi)) continue;
    const float got = (float)mine((double)x);
    const float want = (float)exact((long double)x);
    ++n;
    if (got != got && want != want) continue;
    const int64_t d = llabs(ord(got) - ord(want));
    if (d != 0) ++wrong;
    if (d > worst) worst = d, worst_x = x;
  }
  printf("%-10s [%g, %g] %lld inputs: max %lld ulp (at %a), %lld not correctly rounded\n", name, (double)lo, (double)hi,
         (long long)n, (long long)worst, (double)worst_x, (long long)wrong);
}

}  // namespace

int main(int argc, char** argv) {
  const uint32_t stride = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 1;
  if (argc > 2 && strcmp(argv[2], "gelu") == 0) {
    sweep_gelu(stride);
    return 0;
  }
  sweep("exp", eb_exp_f32<double>, expl, -104.0f, 89.0f, stride);
  sweep("exp_f32", exp_f32_nonpos, expl, -104.0f, 0.0f, stride);
  sweep("exp_f32", exp_f32_nonpos, expl, -87.3f, 0.0f, stride);  // normal results
  sweep("gelu", gelu_f32, x_gelu, -15.0f, 1e6f, stride);
  sweep_gelu(stride * 31 | 1);
  sweep("erf", eb_erf<double>, erfl, -8.0f, 8.0f, stride);
  sweep("tanh", eb_tanh<double>, tanhl, -20.0f, 20.0f, stride);
  sweep("gelu_tanh", eb_gelu_tanh<double>, x_gelu_tanh, -15.0f, 1e6f, stride);
  sweep("silu", eb_silu<double>, x_silu, -110.0f, 110.0f, stride);
  sweep("sigmoid", eb_sigmoid<double>, x_sigmoid, -110.0f, 110.0f, stride);
  return 0;
}
