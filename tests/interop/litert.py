"""LiteRT for the interop tests: the reference-kernel path and the default (XNNPACK) path, one thread."""

from __future__ import annotations

from typing import Any

import numpy as np


def litert_interpreter(data: bytes, path: str) -> Any:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_REF if path == "reference" else OpResolverType.AUTO
    it = Interpreter(model_content=data, num_threads=1, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    return it


def run_litert(data: bytes, samples: list[np.ndarray], path: str) -> list[np.ndarray]:
    it = litert_interpreter(data, path)
    (inp,), (out,) = it.get_input_details(), it.get_output_details()
    outs = []
    for x in samples:
        it.set_tensor(inp["index"], np.ascontiguousarray(x, np.float32))
        it.invoke()
        outs.append(it.get_tensor(out["index"]).copy())
    return outs


def run_litert_all(
    data: bytes, inputs: list[np.ndarray], path: str
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """One run with every input (in graph order, their own dtypes): the outputs and every tensor by name
    (experimental_preserve_all_tensors keeps intermediates)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_REF if path == "reference" else OpResolverType.AUTO
    it = Interpreter(
        model_content=data,
        num_threads=1,
        experimental_op_resolver_type=resolver,
        experimental_preserve_all_tensors=True,
    )
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], np.ascontiguousarray(x, d["dtype"]))
    it.invoke()
    outs = [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]
    named = {}
    for d in it.get_tensor_details():
        try:
            named[d["name"]] = it.get_tensor(d["index"]).copy()
        except ValueError:  # constants without a buffer view, or tensors the delegate owns
            continue
    return outs, named
