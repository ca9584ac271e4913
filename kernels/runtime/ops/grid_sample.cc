// grid_sample.cc: GRID_SAMPLE (docs/artifact.md): aten.grid_sampler_2d in float32 on the reference kernel
// (f32-gridsample): NHWC input, a plain [N, OH, OW, 2] grid of (x, y), NHWC output.
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t x = op.inputs[0], grid = op.inputs[1], y = op.outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input", x, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = c.need_dtype("grid", grid, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = c.need_rank("input", x, 4)) != EB_OK) return s;
  if ((s = c.need_rank("grid", grid, 4)) != EB_OK) return s;
  if ((s = c.need_rank("output", y, 4)) != EB_OK) return s;
  const int32_t *xd = c.T(x).dims, *gd = c.T(grid).dims, *yd = c.T(y).dims;
  if (gd[0] != xd[0] || gd[3] != 2)
    return c.fail("grid dims %s, expected [%d, OH, OW, 2]", dims_text(c.T(grid)).text, (int)xd[0]);
  if (yd[0] != xd[0] || yd[1] != gd[1] || yd[2] != gd[2] || yd[3] != xd[3])
    return c.fail("output dims %s, expected [%d, %d, %d, %d]", dims_text(c.T(y)).text, (int)xd[0], (int)gd[1],
                  (int)gd[2], (int)xd[3]);
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const GridSampleFloatParams& p = op.p.grid_sample_float;
  eb_f32_gridsample_ref((size_t)x.dims[0], x.dims[1], x.dims[2], (size_t)x.dims[3], (size_t)y.dims[1],
                        (size_t)y.dims[2], p.mode, p.padding, p.align_corners, data_of<const float>(m, op.inputs[0]),
                        data_of<const float>(m, op.inputs[1]), data_of<float>(m, op.outputs[0]));
}

}  // namespace

const OpImpl kOpImplGridSample = {validate, NULL, run, NULL, NULL};

}  // namespace eb
