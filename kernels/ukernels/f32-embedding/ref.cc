// f32-embedding/ref.cc: reference EMBEDDING (token ids -> rows of a float32 table).
#include <string.h>

#include "edgebuild/ukernels.h"

// docs/artifact.md EMBEDDING: y[i, :] = table[ids[i], :]. Ids are run-time data: eb_model_set_input_int32 rejects
// an out-of-range id of a graph input, and this kernel writes a zero row for one anyway (never reads outside).
extern "C" void eb_f32_embedding_ref(size_t count, size_t rows, size_t dim, const float* table, const int32_t* ids,
                                     float* output) {
  for (size_t i = 0; i < count; ++i) {
    const int32_t id = ids[i];
    if (id < 0 || (size_t)id >= rows) {
      memset(output + i * dim, 0, dim * sizeof(float));
    } else {
      memcpy(output + i * dim, table + (size_t)id * dim, dim * sizeof(float));
    }
  }
}
