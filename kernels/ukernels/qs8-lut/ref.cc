// qs8-lut/ref.cc: reference int8 table lookup (UNARY on int8: any elementwise function as 256 codes per channel).
#include "edgebuild/ukernels.h"

// docs/quantization.md (11): y = table[c][x + 128], with c = 0 for one table or the channel (last-dim index).
extern "C" void eb_qs8_lut_ref(size_t count, size_t channels, size_t tables, const int8_t* table, const int8_t* input,
                               int8_t* output) {
  for (size_t i = 0; i < count; ++i) {
    const size_t c = tables == 1 ? 0 : i % channels;
    output[i] = table[c * 256 + (size_t)((int32_t)input[i] + 128)];
  }
}
