// xx-copy/ref.cc: reference byte copy (RESHAPE); the memory plan may place input and output on the same bytes.
#include <string.h>

#include "edgebuild/ukernels.h"

extern "C" void eb_xx_copy_ref(size_t num_bytes, const void* input, void* output) {
  if (input != output && num_bytes != 0) memmove(output, input, num_bytes);
}
