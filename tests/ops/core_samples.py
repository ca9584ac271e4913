"""One tiny sample per core ATen inference op (edgebuild/coverage.py): a function and its example inputs whose
exported and decomposed graph contains that op, so tests/ops/test_core_coverage.py can check every claim of
`edgebuild ops` by building it.

Rules that keep a sample honest:
- the op's result depends on a model input (a parameter or constant operand alone would be constant-folded away,
  and the build would pass without the op's lowering) — except the ops the table says are folded;
- the core op is called as `torch.ops.aten.<name>.<overload>` where a friendlier spelling would reach the graph as
  a non-core op that has a lowering of its own (adaptive_avg_pool2d, max_pool2d, conv2d, ...) and so would not be
  decomposed to the core op;
- outputs are float32 (a bool or integer result is cast with `.float()`, i.e. aten._to_copy) and never a model
  input itself;
- inputs have batch 1 (edgebuild builds batch 1); integer inputs are token-id-like int64 tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

A = torch.ops.aten
F32 = torch.float32


@dataclass(frozen=True)
class Input:
    shape: tuple[int, ...]
    low: float | None = None  # uniform in [low, high) instead of standard normal
    high: float | None = None
    int_high: int | None = None  # int64 in [0, int_high)

    def make(self, g: torch.Generator) -> torch.Tensor:
        if self.int_high is not None:
            return torch.randint(0, self.int_high, self.shape, generator=g)
        if self.low is not None and self.high is not None:
            return self.low + (self.high - self.low) * torch.rand(self.shape, generator=g)
        return torch.randn(self.shape, generator=g)


@dataclass(frozen=True)
class Sample:
    fn: Callable[..., torch.Tensor | tuple[torch.Tensor, ...]]
    inputs: tuple[Input, ...]
    # float form vs PyTorch eager: max |ours - torch| <= tol * max(1, max |torch|) (module docstring of the test)
    tol: float = 1e-5
    params: dict[str, torch.Tensor] = field(default_factory=dict)

    def example(self, seed: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(seed)
        return tuple(i.make(g) for i in self.inputs)

    def module(self) -> torch.nn.Module:
        return _Fn(self.fn, self.params)


class _Fn(torch.nn.Module):
    def __init__(self, fn: Callable[..., object], params: dict[str, torch.Tensor]):
        super().__init__()
        self.fn = fn
        for name, value in params.items():
            self.register_buffer(name, value)

    def forward(self, *xs: torch.Tensor) -> object:
        return self.fn(self, *xs)


def _w(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _idx(*values: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.int64)


def x(*shape: int) -> Input:
    return Input(shape)


def u(low: float, high: float, *shape: int) -> Input:
    return Input(shape, low, high)


X = x(1, 3, 4)  # the default elementwise operand
Y = x(1, 3, 4)
POS = u(0.25, 3.0, 1, 3, 4)
UNIT = u(-0.9, 0.9, 1, 3, 4)


def unary(op: Callable[..., torch.Tensor], inp: Input = X, tol: float = 1e-5) -> Sample:
    return Sample(lambda m, a: op(a), (inp,), tol)


def pred(op: Callable[..., torch.Tensor], *inputs: Input) -> Sample:
    """A bool (or integer) result, cast to float32 for the output."""
    return Sample(lambda m, *a: op(*a).to(F32), inputs or (X, Y))


def _gt0(a: torch.Tensor) -> torch.Tensor:
    return A.gt.Scalar(a, 0.0)


def _sq(a: torch.Tensor) -> torch.Tensor:
    return A.mul.Tensor(a, a)


def _with_indices(r: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """values + indices (as float) of a (values, indices) result, so both are checked."""
    return r[0] + r[1].to(F32)


def _i32(a: torch.Tensor) -> torch.Tensor:
    return A.mul.Scalar(a, 4.0).to(torch.int32)


SCATTER_IDX = torch.tensor([[[4, 0, 2], [1, 3, 0]]])  # (1, 2, 3) into dim 1 of (1, 5, 3); distinct per column
MASK = torch.tensor([[[True, False, True], [False, True, True], [True, True, False]]])

SAMPLES: dict[str, Sample] = {
    # --- pooling, resize ---
    "aten._adaptive_avg_pool2d.default": unary(lambda a: A._adaptive_avg_pool2d(a, [2, 3]), x(1, 3, 6, 9)),
    "aten._adaptive_avg_pool3d.default": unary(
        lambda a: A._adaptive_avg_pool3d(a, [2, 2, 2]), x(1, 2, 4, 4, 6)
    ),
    "aten.adaptive_avg_pool1d.default": unary(lambda a: A.adaptive_avg_pool1d(a, [3]), x(1, 3, 7)),
    "aten.avg_pool1d.default": unary(lambda a: A.avg_pool1d(a, [2], [2]), x(1, 3, 8)),
    "aten.avg_pool2d.default": unary(lambda a: A.avg_pool2d(a, [2, 2], [2, 2]), x(1, 3, 6, 6)),
    "aten.avg_pool3d.default": unary(lambda a: A.avg_pool3d(a, [2, 2, 2], [2, 2, 2]), x(1, 2, 4, 4, 4)),
    "aten.max_pool2d_with_indices.default": Sample(
        lambda m, a: A.max_pool2d_with_indices(a, [2, 2], [2, 2])[0], (x(1, 3, 6, 6),)
    ),
    "aten.max_pool3d_with_indices.default": Sample(
        lambda m, a: A.max_pool3d_with_indices(a, [2, 2, 2], [2, 2, 2])[0], (x(1, 2, 4, 4, 4),)
    ),
    "aten.upsample_bilinear2d.vec": unary(
        lambda a: A.upsample_bilinear2d.vec(a, None, False, [2.0, 2.0]), x(1, 2, 3, 4)
    ),
    "aten.upsample_nearest2d.vec": unary(
        lambda a: A.upsample_nearest2d.vec(a, None, [2.0, 3.0]), x(1, 2, 3, 4)
    ),
    "aten.grid_sampler_2d.default": Sample(
        lambda m, a, g: A.grid_sampler_2d(a, g, 0, 0, False), (x(1, 2, 5, 6), u(-1.1, 1.1, 1, 3, 4, 2))
    ),
    "aten.col2im.default": unary(lambda a: A.col2im(a, [4, 4], [2, 2], [1, 1], [0, 0], [1, 1]), x(1, 12, 9)),
    # --- conv, matmul, distances ---
    "aten.convolution.default": Sample(
        lambda m, a: A.convolution(a, m.w, m.b, [1, 1], [1, 1], [1, 1], False, [0, 0], 1),
        (x(1, 3, 5, 5),),
        params={"w": _w(4, 3, 3, 3), "b": _w(4, seed=1)},
    ),
    "aten.addmm.default": Sample(
        lambda m, a: A.addmm(m.b, a, m.w), (x(1, 4),), params={"w": _w(4, 5), "b": _w(5, seed=1)}
    ),
    "aten.mm.default": Sample(lambda m, a: A.mm(a, m.w), (x(1, 4),), params={"w": _w(4, 5)}),
    "aten.bmm.default": Sample(lambda m, a, b: A.bmm(a, b), (x(1, 3, 4), x(1, 4, 5))),
    "aten._cdist_forward.default": Sample(
        lambda m, a, b: A._cdist_forward(a, b, 2.0, None), (x(1, 4, 3), x(1, 5, 3))
    ),
    "aten._pdist_forward.default": unary(lambda a: A._pdist_forward(a.reshape(4, 3), 2.0), x(1, 12)),
    # --- normalization, softmax ---
    "aten._softmax.default": unary(lambda a: A._softmax(a, 1, False)),
    "aten._log_softmax.default": unary(lambda a: A._log_softmax(a, 1, False)),
    "aten.native_layer_norm.default": Sample(
        lambda m, a: A.native_layer_norm(a, [4], m.w, m.b, 1e-5)[0],
        (X,),
        params={"w": _w(4), "b": _w(4, seed=1)},
    ),
    "aten.native_group_norm.default": Sample(
        lambda m, a: A.native_group_norm(a, m.w, m.b, 1, 4, 9, 2, 1e-5)[0],
        (x(1, 4, 3, 3),),
        params={"w": _w(4), "b": _w(4, seed=1)},
    ),
    "aten._native_batch_norm_legit_no_training.default": Sample(
        lambda m, a: A._native_batch_norm_legit_no_training(a, m.w, m.b, m.rm, m.rv, 0.1, 1e-5)[0],
        (x(1, 3, 4, 4),),
        params={"w": _w(3), "b": _w(3, seed=1), "rm": _w(3, seed=2), "rv": 0.5 + _w(3, seed=3).abs()},
    ),
    "aten._native_batch_norm_legit.no_stats": Sample(
        lambda m, a: A._native_batch_norm_legit.no_stats(a, m.w, m.b, True, 0.1, 1e-5)[0],
        (x(1, 3, 4, 4),),
        params={"w": _w(3), "b": _w(3, seed=1)},
    ),
    "aten._native_batch_norm_legit.default": Sample(  # batch statistics, running stats given (train-mode BN)
        lambda m, a: A._native_batch_norm_legit(a, m.w, m.b, m.rm.clone(), m.rv.clone(), True, 0.1, 1e-5)[0],
        (x(1, 3, 4, 4),),
        params={"w": _w(3), "b": _w(3, seed=1), "rm": _w(3, seed=2), "rv": 0.5 + _w(3, seed=3).abs()},
    ),
    # --- reductions ---
    "aten.amax.default": unary(lambda a: A.amax(a, [1], True)),
    "aten.amin.default": unary(lambda a: A.amin(a, [2])),
    "aten.any.default": pred(lambda a: A.any.default(A.gt.Scalar(a, 1.5)), X),
    "aten.any.dim": pred(lambda a: A.any.dim(A.gt.Scalar(a, 1.0), 1), X),
    "aten.any.dims": pred(lambda a: A.any.dims(A.gt.Scalar(a, 1.0), [1, 2]), x(1, 3, 4, 2)),
    "aten.argmax.default": pred(lambda a: A.argmax(a, 1), X),
    "aten.argmin.default": pred(lambda a: A.argmin(a, 2, True), X),
    "aten.max.dim": Sample(lambda m, a: _with_indices(A.max.dim(a, 1)), (X,)),
    "aten.min.dim": Sample(lambda m, a: _with_indices(A.min.dim(a, 2, True)), (X,)),
    "aten.mean.default": unary(lambda a: A.sub.Tensor(a, A.mean.default(a))),
    "aten.mean.dim": unary(lambda a: A.mean.dim(a, [1], True)),
    "aten.sum.dim_IntList": unary(lambda a: A.sum.dim_IntList(a, [0, 2])),
    "aten.prod.default": unary(lambda a: A.prod.default(a), u(0.5, 1.5, 1, 3, 4)),
    "aten.prod.dim_int": unary(lambda a: A.prod.dim_int(a, 1)),
    "aten.var.correction": unary(lambda a: A.var.correction(a, [2], correction=1, keepdim=True)),
    "aten.var.dim": unary(lambda a: A.var.dim(a, [1, 2], False, False)),
    "aten.cumsum.default": unary(lambda a: A.cumsum(a, 2)),
    "aten.sort.default": Sample(lambda m, a: _with_indices(A.sort(a, 1, True)), (X,)),
    "aten.topk.default": Sample(lambda m, a: _with_indices(A.topk(a, 2, 2)), (X,)),
    # --- elementwise binary (tensor and scalar operands, broadcasting, alpha) ---
    "aten.add.Tensor": Sample(lambda m, a, b: A.add.Tensor(a, b, alpha=2), (X, x(1, 1, 4))),
    "aten.add.Scalar": unary(lambda a: A.add.Scalar(a, 2.5)),
    "aten.sub.Tensor": Sample(lambda m, a, b: A.sub.Tensor(a, b), (X, x(1, 3, 1))),
    "aten.sub.Scalar": unary(lambda a: A.sub.Scalar(a, 0.5)),
    "aten.mul.Tensor": Sample(lambda m, a, b: A.mul.Tensor(a, b), (X, Y)),
    "aten.mul.Scalar": unary(lambda a: A.mul.Scalar(a, -1.5)),
    "aten.div.Tensor": Sample(lambda m, a, b: A.div.Tensor(a, b), (X, POS)),
    "aten.div.Scalar": unary(lambda a: A.div.Scalar(a, 3.0)),
    "aten.div.Tensor_mode": Sample(lambda m, a, b: A.div.Tensor_mode(a, b, rounding_mode="floor"), (X, POS)),
    "aten.div.Scalar_mode": unary(lambda a: A.div.Scalar_mode(a, 0.3, rounding_mode="trunc")),
    "aten.fmod.Tensor": Sample(lambda m, a, b: A.fmod.Tensor(a, b), (X, POS)),
    "aten.fmod.Scalar": unary(lambda a: A.fmod.Scalar(a, 0.7)),
    "aten.remainder.Tensor": Sample(lambda m, a, b: A.remainder.Tensor(a, b), (X, POS)),
    "aten.remainder.Scalar": unary(lambda a: A.remainder.Scalar(a, 0.7)),
    "aten.pow.Tensor_Tensor": Sample(lambda m, a, b: A.pow.Tensor_Tensor(a, b), (POS, Y)),
    "aten.pow.Tensor_Scalar": unary(lambda a: A.pow.Tensor_Scalar(a, 3)),
    "aten.pow.Scalar": unary(lambda a: A.pow.Scalar(2.0, a)),
    "aten.maximum.default": Sample(lambda m, a, b: A.maximum(a, b), (X, Y)),
    "aten.minimum.default": Sample(lambda m, a, b: A.minimum(a, b), (X, x(1, 1, 4))),
    "aten.atan2.default": Sample(lambda m, a, b: A.atan2(a, b), (X, Y)),
    "aten.clamp.default": unary(lambda a: A.clamp(a, -0.5, 0.7)),
    "aten.clamp.Tensor": Sample(
        lambda m, a, lo, hi: A.clamp.Tensor(a, lo, A.add.Tensor(lo, hi.abs())), (X, Y, x(1, 1, 4))
    ),
    "aten.where.self": Sample(lambda m, a, b: A.where.self(_gt0(a), a, b), (X, Y)),
    # --- comparisons, logical, bitwise (bool / int results cast to float) ---
    "aten.eq.Tensor": pred(lambda a: A.eq.Tensor(a, A.relu(a)), X),
    "aten.eq.Scalar": pred(lambda a: A.eq.Scalar(A.relu(a), 0.0), X),
    "aten.ne.Tensor": pred(lambda a: A.ne.Tensor(a, A.relu(a)), X),
    "aten.ne.Scalar": pred(lambda a: A.ne.Scalar(A.relu(a), 0.0), X),
    "aten.gt.Tensor": pred(lambda a, b: A.gt.Tensor(a, b)),
    "aten.gt.Scalar": pred(lambda a: A.gt.Scalar(a, 0.2), X),
    "aten.ge.Tensor": pred(lambda a, b: A.ge.Tensor(a, A.relu(b)), X, Y),
    "aten.ge.Scalar": pred(lambda a: A.ge.Scalar(A.relu(a), 0.0), X),
    "aten.lt.Tensor": pred(lambda a, b: A.lt.Tensor(a, b)),
    "aten.lt.Scalar": pred(lambda a: A.lt.Scalar(a, -0.2), X),
    "aten.le.Tensor": pred(lambda a, b: A.le.Tensor(A.relu(a), b)),
    "aten.le.Scalar": pred(lambda a: A.le.Scalar(A.relu(a), 0.0), X),
    "aten.logical_and.default": pred(lambda a, b: A.logical_and(_gt0(a), _gt0(b))),
    "aten.logical_or.default": pred(lambda a, b: A.logical_or(_gt0(a), b)),
    "aten.logical_xor.default": pred(lambda a, b: A.logical_xor(_gt0(a), _gt0(b))),
    "aten.logical_not.default": pred(lambda a: A.logical_not(_gt0(a)), X),
    "aten.bitwise_and.Tensor": pred(lambda a, b: A.bitwise_and.Tensor(_gt0(a), _gt0(b))),
    "aten.bitwise_or.Tensor": pred(lambda a, b: A.bitwise_or.Tensor(_i32(a), _i32(b))),
    "aten.bitwise_xor.Tensor": pred(lambda a, b: A.bitwise_xor.Tensor(_gt0(a), _gt0(b))),
    "aten.bitwise_and.Scalar": pred(lambda a: A.bitwise_and.Scalar(_i32(a), 3), X),
    "aten.bitwise_or.Scalar": pred(lambda a: A.bitwise_or.Scalar(_i32(a), 5), X),
    "aten.bitwise_xor.Scalar": pred(lambda a: A.bitwise_xor.Scalar(_i32(a), 6), X),
    "aten.bitwise_not.default": pred(lambda a: A.bitwise_not(_gt0(a)), X),
    "aten.isinf.default": pred(lambda a: A.isinf(A.reciprocal(A.relu(a))), X),
    "aten.isnan.default": pred(lambda a: A.isnan(A.mul.Tensor(A.reciprocal(A.relu(a)), a)), X),
    "aten._to_copy.default": unary(
        lambda a: A._to_copy(A._to_copy(A.mul.Scalar(a, 3.0), dtype=torch.int64), dtype=F32)
    ),
    # --- elementwise unary ---
    "aten.abs.default": unary(A.abs),
    "aten.neg.default": unary(A.neg),
    "aten.sign.default": unary(lambda a: A.sign(A.relu(a))),
    "aten.ceil.default": unary(lambda a: A.ceil(A.mul.Scalar(a, 3.0))),
    "aten.floor.default": unary(lambda a: A.floor(A.mul.Scalar(a, 3.0))),
    "aten.round.default": unary(lambda a: A.round(A.mul.Scalar(a, 3.0))),
    "aten.trunc.default": unary(lambda a: A.trunc(A.mul.Scalar(a, 3.0))),
    "aten.sqrt.default": unary(A.sqrt, POS),
    "aten.rsqrt.default": unary(A.rsqrt, POS),
    "aten.reciprocal.default": unary(A.reciprocal, POS),
    "aten.exp.default": unary(A.exp),
    "aten.expm1.default": unary(A.expm1),
    "aten.log.default": unary(A.log, POS),
    "aten.log2.default": unary(A.log2, POS),
    "aten.log10.default": unary(A.log10, POS),
    "aten.log1p.default": unary(A.log1p, POS),
    "aten.erf.default": unary(A.erf),
    "aten.sin.default": unary(A.sin),
    "aten.cos.default": unary(A.cos),
    "aten.tan.default": unary(A.tan, u(-1.2, 1.2, 1, 3, 4)),
    "aten.asin.default": unary(A.asin, UNIT),
    "aten.acos.default": unary(A.acos, UNIT),
    "aten.atan.default": unary(A.atan),
    "aten.sinh.default": unary(A.sinh),
    "aten.cosh.default": unary(A.cosh),
    "aten.tanh.default": unary(A.tanh),
    "aten.asinh.default": unary(A.asinh),
    "aten.acosh.default": unary(A.acosh, u(1.1, 4.0, 1, 3, 4)),
    "aten.atanh.default": unary(A.atanh, UNIT),
    "aten.sigmoid.default": unary(A.sigmoid),
    "aten.relu.default": unary(A.relu),
    "aten.gelu.default": unary(lambda a: A.gelu(a, approximate="tanh")),
    "aten.elu.default": unary(lambda a: A.elu(a, 1.0, 1, 1)),
    "aten.leaky_relu.default": unary(lambda a: A.leaky_relu(a, 0.1)),
    "aten.hardtanh.default": unary(lambda a: A.hardtanh(a, -0.5, 0.5)),
    # --- data movement ---
    "aten.alias.default": unary(lambda a: A.mul.Tensor(A.alias(a), a)),
    "aten.clone.default": unary(lambda a: A.mul.Tensor(A.clone(a), a)),
    "aten.copy.default": Sample(lambda m, a, b: A.copy(a, b), (X, x(1, 1, 4))),
    "aten.view.default": unary(lambda a: _sq(A.view(a, [1, 4, 3]))),
    "aten.permute.default": unary(lambda a: _sq(A.permute(a, [0, 2, 1]))),
    "aten.expand.default": unary(lambda a: _sq(A.expand(a, [1, 3, 4])), x(1, 1, 4)),
    "aten.repeat.default": unary(lambda a: _sq(A.repeat(a, [1, 2, 3]))),
    "aten.squeeze.dim": unary(lambda a: _sq(A.squeeze.dim(a, 1)), x(1, 1, 4)),
    "aten.squeeze.dims": unary(lambda a: _sq(A.squeeze.dims(a, [1, 3])), x(1, 1, 4, 1)),
    "aten.unsqueeze.default": unary(lambda a: _sq(A.unsqueeze(a, 2))),
    "aten.flip.default": unary(lambda a: A.flip(a, [1, 2])),
    "aten.diagonal.default": unary(lambda a: _sq(A.diagonal(a, 0, 1, 2)), x(1, 4, 5)),
    "aten.as_strided.default": unary(lambda a: _sq(A.as_strided(a, [1, 3, 2], [12, 1, 4])), x(1, 12)),
    "aten.select.int": unary(lambda a: _sq(A.select(a, 1, 2))),
    "aten.slice.Tensor": unary(lambda a: _sq(A.slice(a, 2, 1, 4, 2))),
    "aten.cat.default": Sample(lambda m, a, b: A.cat([a, b], 1), (X, Y)),
    "aten.split_with_sizes.default": Sample(
        lambda m, a: tuple(_sq(t) for t in A.split_with_sizes(a, [1, 2], 1)), (X,)
    ),
    "aten.constant_pad_nd.default": unary(lambda a: A.constant_pad_nd(a, [1, 2, 0, 1], 0.5)),
    "aten.reflection_pad1d.default": unary(lambda a: A.reflection_pad1d(a, [2, 1])),
    "aten.reflection_pad2d.default": unary(lambda a: A.reflection_pad2d(a, [2, 1, 1, 2]), x(1, 2, 4, 5)),
    "aten.reflection_pad3d.default": unary(
        lambda a: A.reflection_pad3d(a, [1, 1, 1, 0, 0, 1]), x(1, 2, 3, 3, 3)
    ),
    "aten.replication_pad2d.default": unary(lambda a: A.replication_pad2d(a, [2, 1, 1, 2]), x(1, 2, 4, 5)),
    "aten.replication_pad3d.default": unary(
        lambda a: A.replication_pad3d(a, [1, 1, 1, 0, 0, 1]), x(1, 2, 3, 3, 3)
    ),
    # --- indexing, gather / scatter ---
    "aten.embedding.default": Sample(
        lambda m, i: A.embedding(m.w, i), (Input((1, 5), int_high=10),), params={"w": _w(10, 4)}
    ),
    "aten._embedding_bag.default": Sample(
        lambda m, a: A._embedding_bag(a.reshape(5, 3), m.i, m.o, False, 0)[0],
        (x(1, 15),),
        params={"i": _idx(0, 2, 4, 1, 3), "o": _idx(0, 2)},
    ),
    "aten.gather.default": Sample(lambda m, a: A.gather(a, 1, m.i), (x(1, 5, 3),), params={"i": SCATTER_IDX}),
    "aten.index_select.default": Sample(
        lambda m, a: A.index_select(a, 1, m.i), (x(1, 5, 3),), params={"i": _idx(4, 0, 0, 2)}
    ),
    "aten.index.Tensor": Sample(
        lambda m, a: A.index.Tensor(a, [None, m.i]), (x(1, 5, 3),), params={"i": _idx(3, 1, 3)}
    ),
    "aten.index_put.default": Sample(
        lambda m, a, b: A.index_put(a, [None, m.i], b), (x(1, 5, 3), x(1, 2, 3)), params={"i": _idx(4, 1)}
    ),
    "aten.scatter.src": Sample(
        lambda m, a, b: A.scatter.src(a, 1, m.i, b), (x(1, 5, 3), x(1, 2, 3)), params={"i": SCATTER_IDX}
    ),
    "aten.scatter.value": Sample(
        lambda m, a: A.scatter.value(a, 1, m.i, 2.5), (x(1, 5, 3),), params={"i": SCATTER_IDX}
    ),
    "aten.scatter_add.default": Sample(
        lambda m, a, b: A.scatter_add(a, 1, m.i, b), (x(1, 5, 3), x(1, 2, 3)), params={"i": SCATTER_IDX}
    ),
    "aten.scatter_reduce.two": Sample(
        lambda m, a, b: A.scatter_reduce.two(a, 1, m.i, b, "amax"),
        (x(1, 5, 3), x(1, 2, 3)),
        params={"i": SCATTER_IDX},
    ),
    "aten.select_scatter.default": Sample(lambda m, a, b: A.select_scatter(a, b, 1, 2), (X, x(1, 4))),
    "aten.slice_scatter.default": Sample(lambda m, a, b: A.slice_scatter(a, b, 2, 0, 4, 2), (X, x(1, 3, 2))),
    "aten.masked_scatter.default": Sample(
        lambda m, a, b: A.masked_scatter(a, m.k, b), (x(1, 3, 3), x(1, 3, 3)), params={"k": MASK}
    ),
    "aten.nonzero.default": pred(lambda a: A.nonzero(_gt0(a)), X),
    # --- constants from shapes and arguments (folded at build time) ---
    "aten.arange.start_step": unary(lambda a: A.add.Tensor(a, A.arange.start_step(0, 4, 1, dtype=F32))),
    "aten.full.default": unary(lambda a: A.add.Tensor(a, A.full([1, 3, 4], 2.0, dtype=F32))),
    "aten.full_like.default": unary(lambda a: A.add.Tensor(a, A.full_like(a, 2.0))),
    "aten.scalar_tensor.default": unary(lambda a: A.add.Tensor(a, A.scalar_tensor(2.0, dtype=F32))),
    "aten.fill.Scalar": unary(lambda a: A.add.Tensor(a, A.fill.Scalar(a, 2.0))),
    "aten.empty.memory_format": unary(
        lambda a: A.add.Tensor(a, A.fill.Scalar(A.empty.memory_format([1, 3, 4], dtype=F32), 2.0))
    ),
    "aten.empty_strided.default": unary(
        lambda a: A.add.Tensor(a, A.fill.Scalar(A.empty_strided([1, 3, 4], [12, 4, 1], dtype=F32), 2.0))
    ),
    # --- complex, data-dependent ---
    "aten._fft_r2c.default": unary(lambda a: A.abs(torch.fft.rfft(a))),
    "aten._fft_c2r.default": unary(lambda a: torch.fft.irfft(torch.fft.rfft(a), n=4)),
    "aten._local_scalar_dense.default": unary(
        lambda a: A.mul.Scalar(a, A._local_scalar_dense(A.amax(a, [0, 1, 2])))
    ),
}
