// xx-pad/ref.cc: reference constant PAD of a rank <= 6 tensor with elements of any size.
#include <string.h>

#include "edgebuild/ukernels.h"

namespace {

// bytes of `value` repeated: memset when every byte of the element is the same (int8 codes, 0.0f), else the first
// element written once and then copied onto the bytes after it in doubling blocks.
void fill(unsigned char* y, size_t bytes, size_t element_size, const unsigned char* value, bool uniform) {
  if (bytes == 0) return;
  if (uniform) {
    memset(y, value[0], bytes);
    return;
  }
  memcpy(y, value, element_size);
  for (size_t done = element_size; done < bytes;) {
    const size_t n = done < bytes - done ? done : bytes - done;
    memcpy(y + done, y, n);
    done += n;
  }
}

struct PadWalk {
  size_t last;  // the innermost padded dim: the dims after it are whole, so a run of the input is contiguous there
  size_t element_size;
  const int32_t *in_dims, *before, *out_dims;
  size_t in_stride[6], out_stride[6];  // bytes
  const unsigned char* value;
  bool uniform;

  // The output block of dim d at y from the input block at x: the `before` rows, the input's rows, the `after` rows.
  void block(size_t d, const unsigned char* x, unsigned char* y) const {
    const size_t lead = (size_t)before[d] * out_stride[d], n = (size_t)in_dims[d];
    const size_t tail = ((size_t)out_dims[d] - n - (size_t)before[d]) * out_stride[d];
    fill(y, lead, element_size, value, uniform);
    if (d == last) {
      memcpy(y + lead, x, n * in_stride[d]);  // one contiguous run: in_stride[last] == out_stride[last]
    } else {
      for (size_t i = 0; i < n; ++i) block(d + 1, x + i * in_stride[d], y + lead + i * out_stride[d]);
    }
    fill(y + lead + n * out_stride[d], tail, element_size, value, uniform);
  }
};

}  // namespace

// Padded dims are walked outside in; the trailing dims that no pad touches are merged into one run, so NHWC padded
// in H and W copies rows of W·C elements and fills the border with memset. Every output byte is written once.
extern "C" void eb_xx_pad_ref(size_t element_size, size_t rank, const int32_t* input_dims, const int32_t* pad_before,
                              const int32_t* output_dims, const void* value, const void* input, void* output) {
  PadWalk w;
  w.element_size = element_size;
  w.in_dims = input_dims;
  w.before = pad_before;
  w.out_dims = output_dims;
  w.value = (const unsigned char*)value;
  w.uniform = true;
  for (size_t b = 1; b < element_size; ++b) w.uniform = w.uniform && w.value[b] == w.value[0];
  size_t in_total = element_size, out_total = element_size;
  for (size_t k = rank; k-- > 0;) {
    w.in_stride[k] = in_total;
    w.out_stride[k] = out_total;
    in_total *= (size_t)input_dims[k];
    out_total *= (size_t)output_dims[k];
  }
  size_t padded = rank;  // rank: no dim is padded
  for (size_t k = 0; k < rank; ++k)
    if (input_dims[k] != output_dims[k]) padded = k;
  if (in_total == 0) {  // an empty input: all value (and no read of a possibly NULL input)
    fill((unsigned char*)output, out_total, element_size, w.value, w.uniform);
    return;
  }
  if (padded == rank) {
    memcpy(output, input, out_total);
    return;
  }
  w.last = padded;
  w.block(0, (const unsigned char*)input, (unsigned char*)output);
}
