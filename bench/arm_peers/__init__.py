"""bench/arm_peers (issue 17): edgebuild next to LiteRT and ONNX Runtime on emulated ARM cores, by one command:

    python -m bench.arm_peers          # as root, on Debian with: apt-get install -y debootstrap qemu-user gcc g++-aarch64-linux-gnu

What it does:
- rootfs.py: an arm64 Debian bookworm rootfs (debootstrap --foreign + dpkg-deb -x, no binfmt), with python3, and
  numpy, LiteRT 2.3.0 and ONNX Runtime aarch64 wheels (pip download --platform) unzipped into its site-packages;
  cached under ~/.cache/edgebuild/arm-peers/ (a warm run reuses it).
- models.py: MobileNetV2 1.0 and ResNet-18 at 224 (tests/cnn_models.py), SqueezeNet 1.1 and ShuffleNetV2 1.0× at 224
  (the test zoo's architectures), trained-like random weights; edgebuild's arm64 artifact and its `edgebuild export
  --io int8` .tflite and ONNX (QDQ); one input, exactly on the int8 grid, for all engines.
- engines.py + guest.py: each engine (LiteRT with XNNPACK, LiteRT builtin kernels without delegates, ONNX Runtime on
  edgebuild's QDQ ONNX), one thread, in the rootfs under `qemu-aarch64 -cpu {cortex-a53, cortex-a76, max,sme=off}`;
  the TCG plugin kernels/tools/qemu-insn-count.c counts instructions of every thread between two marker syscalls
  around one invoke (the markers' own cost measured and subtracted), per op category for LiteRT by the symbol table
  of its library; cross-checked once per engine as (11 invokes − 1 invoke)/10 of the whole process.
- edgebuild's count: bench/arm_insns.py (the runner's own markers), the path forced to the core's: a53 → neon,
  a76 → neondot, max → i8mm.
- agreement: edgebuild's int8 output against each engine's, max |Δ| in LSB and top-1, reported only when the float
  model's output varies with the input; and against LiteRT's reference kernels on the host (must be 0 LSB).
- minilm.py (issue 19, `--models minilm [--seq 32 128]`): all-MiniLM-L6-v2 with its real weights, edgebuild against
  ONNX Runtime's quantize_dynamic int8 models (bench/bench_minilm.py's, the same as on x86) and its fp32 export.
It prints markdown tables (bench/README.md carries them).
"""
