"""The guest side of bench/arm_peers: runs inside the arm64 rootfs under qemu-aarch64 (Debian's python3 and the
engines' aarch64 wheels; no edgebuild here). One engine, one model, one thread:

    python3 guest.py ENGINE MODEL X.npy OUT.npy INVOKES MAGIC

X.npy is the model's one input; an X.npz holds several, by input name (ONNX Runtime) or in the model's input order
(LiteRT). ENGINE: litert-xnnpack (LiteRT's default resolver, which applies XNNPACK itself), litert-builtin (builtin kernels
without the default delegates: ruy GEMMs), ort (ONNX Runtime, CPU provider, default graph optimizations, which fuse
the QDQ groups into its int8 kernels). The model is created, then invoked INVOKES times with the same int8 input;
the last invoke lies between two marker syscalls (getpid with first argument MAGIC, then MAGIC+1) that the TCG
plugin (kernels/tools/qemu-insn-count.c, syscall-marker mode) counts between. Before the engine is created, the
load address of LiteRT's library is announced (MAGIC+2) so the plugin can bucket instructions by symbol. An empty
marker pair right after measures the markers' own cost. The last output is saved to OUT.npy (int8).
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np

GETPID = 172  # aarch64: a syscall with no side effect and no arguments, so its argument can carry the marker
LITERT_LIBRARY = "libpywrap_litert_common.so"  # the .so holding the interpreter, its kernels, ruy and XNNPACK


def library_base(name: str) -> int:
    """The address the library's offset-0 segment is mapped at (what `nm`'s addresses are relative to)."""
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and fields[5].endswith("/" + name) and int(fields[2], 16) == 0:
                return int(fields[0].split("-")[0], 16)
    raise SystemExit(f"{name} is not mapped")


def main() -> None:
    engine, model, x_path, out_path, invokes, magic = sys.argv[1:7]
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.argtypes = [ctypes.c_long, ctypes.c_ulong, ctypes.c_ulong]
    magic_n = int(magic, 0)
    loaded = np.load(x_path)
    xs = dict(loaded.items()) if x_path.endswith(".npz") else None
    x = next(iter(xs.values())) if xs else loaded
    if engine.startswith("litert"):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        syscall(GETPID, magic_n + 2, library_base(LITERT_LIBRARY))
        resolver = (
            OpResolverType.AUTO
            if engine == "litert-xnnpack"
            else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        )
        it = Interpreter(model_path=model, num_threads=1, experimental_op_resolver_type=resolver)
        it.allocate_tensors()
        for detail, value in zip(it.get_input_details(), xs.values() if xs else [x]):
            it.set_tensor(detail["index"], value)
        out_index = it.get_output_details()[0]["index"]
        run = it.invoke
    elif engine == "ort":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        feed = xs if xs else {sess.get_inputs()[0].name: x}
        result: list[np.ndarray] = []

        def run() -> None:
            result[:] = sess.run(None, feed)

    else:
        raise SystemExit(f"unknown engine {engine}")
    for i in range(int(invokes)):
        if i == int(invokes) - 1:
            syscall(GETPID, magic_n, 0)
            run()
            syscall(GETPID, magic_n + 1, 0)
        else:
            run()
    syscall(GETPID, magic_n, 0)  # the markers' own cost, subtracted by the host
    syscall(GETPID, magic_n + 1, 0)
    y = it.get_tensor(out_index) if engine.startswith("litert") else result[0]
    np.save(out_path, np.asarray(y))


if __name__ == "__main__":
    main()
