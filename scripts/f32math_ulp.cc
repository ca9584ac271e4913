// f32math_ulp.cc: the error of f32math.h's float functions against glibc's long double ones (64-bit significand,
// ~1 long double ulp: far finer than a float ulp), over every `stride`-th float in [−lim, lim] (default every float
// whose exponent the function can use). Build and run on x86-64 (long double = x87 extended):
//   g++ -O2 -ffp-contract=off -Ikernels/include scripts/f32math_ulp.cc -o /tmp/ulp && /tmp/ulp [stride]
// Prints, per function, the largest distance in float ulps from the correctly rounded result and how many inputs
// were not correctly rounded. docs/artifact.md "Float functions" quotes it.
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
double gelu_f32(double x) { return (double)eb_gelu_f32<float, int32_t>((float)x); }
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
  printf("%-10s [%g, %g] %lld inputs: max %lld ulp (at %a), %lld not correctly rounded\n", name, (double)lo,
         (double)hi, (long long)n, (long long)worst, (double)worst_x, (long long)wrong);
}

}  // namespace

int main(int argc, char** argv) {
  const uint32_t stride = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 1;
  sweep("exp", eb_exp_f32<double>, expl, -104.0f, 89.0f, stride);
  sweep("exp_f32", exp_f32_nonpos, expl, -104.0f, 0.0f, stride);
  sweep("exp_f32", exp_f32_nonpos, expl, -87.3f, 0.0f, stride);  // normal results
  sweep("gelu", gelu_f32, x_gelu, -15.0f, 1e6f, stride);
  sweep("gelu", gelu_f32, x_gelu, -11.6f, 1e6f, stride);  // |GELU(x)| >= 1e-30
  sweep("erf", eb_erf<double>, erfl, -8.0f, 8.0f, stride);
  sweep("tanh", eb_tanh<double>, tanhl, -20.0f, 20.0f, stride);
  sweep("gelu_tanh", eb_gelu_tanh<double>, x_gelu_tanh, -15.0f, 1e6f, stride);
  sweep("silu", eb_silu<double>, x_silu, -110.0f, 110.0f, stride);
  sweep("sigmoid", eb_sigmoid<double>, x_sigmoid, -110.0f, 110.0f, stride);
  return 0;
}
