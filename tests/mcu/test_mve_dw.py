"""Cortex-M55 MVE depthwise, ADD and pooling variants vs their reference kernels, bit for bit, under
qemu-system-arm -M mps3-an547 (kernels/mcu/test/mve_dw_test.cc).

The cases (fixed seed) go to the tester in a file, with the build-time arguments edgebuild/mcu/variants/mve_*.py
compute, so a wrong `pack` or `extra` fails here too. MVE emulates at ~18 M instructions/s: the shapes are small.
`python tests/mcu/test_mve_dw.py` prints instructions per call on MLPerf Tiny and CMSIS-NN shapes (ref vs mve).
"""

from __future__ import annotations

import math
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from edgebuild.mcu.variants import choose
from tests.mcu.baremetal import CONV_FIELDS, KERNELS, compile_program, missing_tools, run_program

pytestmark = pytest.mark.skipif(
    bool(missing_tools()),
    reason=f"Cortex-M toolchain missing ({', '.join(missing_tools())}): scripts/setup.sh",
)

SOURCES = [
    KERNELS / "mcu" / "test" / "mve_dw_test.cc",
    KERNELS / "ukernels" / "qs8-conv" / "ref.cc",
    KERNELS / "ukernels" / "qs8-vadd" / "ref.cc",
    KERNELS / "ukernels" / "qs8-avgpool" / "ref.cc",
    KERNELS / "ukernels" / "qs8-maxpool" / "ref.cc",
    KERNELS / "ukernels" / "qs8-conv" / "qs8_conv_dw_minmax__mve.cc",
    KERNELS / "ukernels" / "qs8-vadd" / "qs8_vadd_minmax__mve.cc",
    KERNELS / "ukernels" / "qs8-avgpool" / "qs8_avgpool_minmax__mve.cc",
    KERNELS / "ukernels" / "qs8-maxpool" / "qs8_maxpool_minmax__mve.cc",
]

VADD_FIELDS = [
    "a_zero_point",
    "b_zero_point",
    "output_zero_point",
    "left_shift",
    "a_multiplier",
    "a_shift",
    "b_multiplier",
    "b_shift",
    "output_multiplier",
    "output_shift",
    "output_min",
    "output_max",
]
POOL_HEAD = ["batch", "input_height", "input_width", "channels", "output_height", "output_width"]
POOL_GEOM = ["kernel_height", "kernel_width", "stride_height", "stride_width", "pad_height", "pad_width"]
AVGPOOL_FIELDS = [*POOL_HEAD, *POOL_GEOM, "count_include_pad", "zero_point", "output_min", "output_max"]
MAXPOOL_FIELDS = [*POOL_HEAD, *POOL_GEOM, "dilation_height", "dilation_width", "output_min", "output_max"]


def _i32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def _arr(a: np.ndarray) -> bytes:
    b = np.ascontiguousarray(a).tobytes()
    return b + b"\0" * (-len(b) % 4)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """docs/quantization.md (3)."""
    frac, e = math.frexp(real)
    m = math.floor(abs(frac) * 2**31 + 0.5)
    if m == 2**31:
        m, e = 2**30, e + 1
    return m, e


def _clamp(rng: np.random.Generator, zp: int) -> tuple[int, int]:
    kind = rng.integers(0, 4)
    if kind == 0:
        return -128, 127
    if kind == 1:
        return max(-128, zp), 127  # relu, eq. (8)
    lo = int(rng.integers(-128, 0))
    return lo, int(rng.integers(lo, 128))


def dwconv_case(rng: np.random.Generator, **kw: int) -> bytes:
    p = {
        "batch": kw.get("batch", int(rng.integers(1, 3))),
        "input_height": kw.get("h", int(rng.integers(1, 10))),
        "input_width": kw.get("w", int(rng.integers(1, 10))),
        "input_channels": kw.get("c", int(rng.integers(1, 18))),
        "kernel_height": kw.get("kh", 3),
        "kernel_width": kw.get("kw", 3),
        "stride_height": kw.get("sh", int(rng.integers(1, 3))),
        "stride_width": kw.get("sw", int(rng.integers(1, 3))),
        "dilation_height": kw.get("dh", 1),
        "dilation_width": kw.get("dw", 1),
    }
    pt, pb, pl, pr = (kw.get(k, int(rng.integers(0, 2))) for k in ("pt", "pb", "pl", "pr"))
    p["pad_top"], p["pad_left"] = pt, pl
    eh = (p["kernel_height"] - 1) * p["dilation_height"] + 1
    ew = (p["kernel_width"] - 1) * p["dilation_width"] + 1
    p["output_height"] = max(1, (p["input_height"] + pt + pb - eh) // p["stride_height"] + 1)
    p["output_width"] = max(1, (p["input_width"] + pl + pr - ew) // p["stride_width"] + 1)
    c = p["input_channels"]
    p["output_channels"] = p["groups"] = c
    extreme = kw.get("extreme", int(rng.integers(0, 3)) == 0)
    p["input_zero_point"] = int(rng.choice([-128, 127])) if extreme else int(rng.integers(-128, 128))
    p["output_zero_point"] = int(rng.choice([-128, 127])) if extreme else int(rng.integers(-128, 128))
    p["output_min"], p["output_max"] = _clamp(rng, p["output_zero_point"])
    x = rng.integers(-128, 128, size=(p["batch"], p["input_height"], p["input_width"], c), dtype=np.int8)
    w = rng.integers(-127, 128, size=(c, p["kernel_height"], p["kernel_width"], 1), dtype=np.int8)
    if extreme:
        w[rng.random(w.shape) < 0.5] = int(rng.choice([-127, 127]))
    ties = kw.get("ties", 0)
    if ties:  # small sums and shifts of -3..2: RDBPOT's ties (and e >= 0) inside the clamp range
        x = np.clip(p["input_zero_point"] + rng.integers(-3, 4, size=x.shape), -128, 127).astype(np.int8)
        w = rng.integers(-3, 4, size=w.shape, dtype=np.int8)
    has_bias = int(rng.integers(0, 4)) != 0
    bias_range = 20 if ties else 2**20
    bias = rng.integers(-bias_range, bias_range, size=c).astype(np.int32) if has_bias else None
    mult = rng.integers(2**30, 2**31, size=c, dtype=np.int64).astype(np.int32)
    mult[rng.random(c) < 0.2] = 2**31 - 1
    mult[rng.random(c) < 0.2] = 2**30
    # Exponents: any (left shifts, the largest right shift), the lowering's typical ones, and small right shifts,
    # where RDBPOT's ties (its round half away from zero against MVE's half up) are frequent.
    lo_e, hi_e = [(-31, 4), (-14, -4), (-3, 0)][kw.get("exponents", int(rng.integers(0, 3)))]
    shift = rng.integers(lo_e, hi_e + 1, size=c).astype(np.int32)
    if ties:
        shift = rng.integers(-3, 3, size=c).astype(np.int32)  # e >= 0 too: no right shift, no tie fix
    consts = {"weights": w, "bias": bias, "multiplier": mult, "shift": shift}
    v = choose("dwconv", "mve", p)
    assert v is not None and v.pack is not None and v.extra is not None
    out = _i32(1, *(p[f] for f in CONV_FIELDS), int(has_bias)) + _arr(x) + _arr(w) + _arr(v.pack(p, consts))
    if bias is not None:
        out += _arr(bias)
    out += _arr(mult) + _arr(shift) + b"".join(_arr(a) for a in v.extra(p, consts))
    return out


def add_case(
    rng: np.random.Generator, count: int, alias: int = 0, extreme: bool = False, ties: bool = False
) -> bytes:
    p = {
        "a_zero_point": int(rng.integers(-128, 128)),
        "b_zero_point": int(rng.integers(-128, 128)),
        "output_zero_point": int(rng.integers(-128, 128)),
        "left_shift": 20,
    }
    if extreme:
        p["left_shift"] = int(rng.choice([0, 8, 20, 24]))
        for k in ("a", "b", "output"):
            p[f"{k}_multiplier"] = int(rng.choice([2**30, 2**31 - 1, int(rng.integers(2**30, 2**31))]))
            p[f"{k}_shift"] = int(rng.integers(-31, 3))
            if k != "output":
                p[f"{k}_zero_point"] = int(rng.choice([-128, 127]))
    else:
        sa, sb, sy = (float(np.float32(rng.uniform(0.01, 0.1))) for _ in range(3))
        s = 2 * max(sa, sb)
        p["a_multiplier"], p["a_shift"] = quantize_multiplier(sa / s)
        p["b_multiplier"], p["b_shift"] = quantize_multiplier(sb / s)
        p["output_multiplier"], p["output_shift"] = quantize_multiplier(s / (2**20 * sy))
    if ties:  # halves at every step and small right shifts: ties of (4a) and (4b) inside the clamp range
        p["left_shift"] = 0
        p["a_multiplier"] = p["b_multiplier"] = 2**30
        p["a_shift"] = p["b_shift"] = 0
        p["output_multiplier"] = int(rng.choice([2**30, int(rng.integers(2**30, 2**31))]))
        p["output_shift"] = int(rng.integers(-3, 0))
    p["output_min"], p["output_max"] = _clamp(rng, p["output_zero_point"])
    a = rng.integers(-128, 128, size=count, dtype=np.int8)
    b = rng.integers(-128, 128, size=count, dtype=np.int8)
    v = choose("add", "mve", p)
    assert v is not None and v.extra is not None
    tables = b"".join(_arr(t) for t in v.extra(p, {}))
    return _i32(2, *(p[f] for f in VADD_FIELDS), count, alias) + _arr(a) + _arr(b) + tables


def _pool_out(size: int, k: int, s: int, pad: int, d: int, ceil: bool) -> int:
    span = size + 2 * pad - d * (k - 1) - 1
    o = (-(-span // s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= size + pad:
        o -= 1
    return o


def pool_case(rng: np.random.Generator, family: int, **kw: int) -> bytes:
    while True:
        h, w = kw.get("h", int(rng.integers(1, 10))), kw.get("w", int(rng.integers(1, 10)))
        c = kw.get("c", int(rng.integers(1, 18)))
        kh, kwid = kw.get("kh", int(rng.integers(1, 4))), kw.get("kw", int(rng.integers(1, 4)))
        sh, sw = kw.get("sh", int(rng.integers(1, 3))), kw.get("sw", int(rng.integers(1, 3)))
        ph, pw = (
            kw.get("ph", int(rng.integers(0, kh // 2 + 1))),
            kw.get("pw", int(rng.integers(0, kwid // 2 + 1))),
        )
        dh, dw = (kw.get("dh", 1), kw.get("dw", 1)) if family == 3 else (int(rng.integers(1, 3)), 1)
        ceil = bool(kw.get("ceil", int(rng.integers(0, 2))))
        oh, ow = _pool_out(h, kh, sh, ph, dh, ceil), _pool_out(w, kwid, sw, pw, dw, ceil)
        if oh >= 1 and ow >= 1 and (family == 3 or (kh - 1) * dh >= 0):
            break
    batch = kw.get("batch", int(rng.integers(1, 3)))
    zp = int(rng.integers(-128, 128))
    lo, hi = _clamp(rng, zp)
    head = [batch, h, w, c, oh, ow, kh, kwid, sh, sw, ph, pw]
    if family == 3:
        fields = [*head, kw.get("include", int(rng.integers(0, 2))), zp, lo, hi]
    else:
        fields = [*head, dh, dw, lo, hi]
    x = rng.integers(-128, 128, size=(batch, h, w, c), dtype=np.int8)
    return _i32(family, *fields) + _arr(x)


def all_cases() -> list[bytes]:
    rng = np.random.default_rng(20261203)
    cases: list[bytes] = []
    # dwconv: 3x3 stride 1 and 2 with and without padding over channel tails, then other windows and dilations.
    for c in (1, 3, 4, 5, 8, 15, 16, 17):
        for s in (1, 2):
            cases.append(dwconv_case(rng, c=c, sh=s, sw=s, pt=1, pb=1, pl=1, pr=1, h=7, w=9))
    for _ in range(40):
        cases.append(dwconv_case(rng))
    for _ in range(10):  # ties of RDBPOT at stride 1 with 3x3 windows (every path of the kernel)
        cases.append(
            dwconv_case(rng, ties=1, sh=1, sw=1, h=int(rng.integers(4, 12)), w=int(rng.integers(4, 12)))
        )
    for kh, kw in ((1, 1), (5, 5), (3, 1), (1, 3), (7, 7)):
        for _ in range(2):
            cases.append(dwconv_case(rng, kh=kh, kw=kw, pt=kh // 2, pl=kw // 2))
    for _ in range(6):  # dilated 3x3, paddings up to 2, strides up to 3
        d = int(rng.integers(1, 3))
        cases.append(
            dwconv_case(
                rng,
                h=int(rng.integers(3, 12)),
                w=int(rng.integers(3, 12)),
                dh=d,
                dw=3 - d,
                pt=int(rng.integers(0, 3)),
                pl=int(rng.integers(0, 3)),
                pb=int(rng.integers(0, 3)),
                pr=int(rng.integers(0, 3)),
                sh=int(rng.integers(1, 4)),
                sw=int(rng.integers(1, 4)),
            )
        )
    cases.append(dwconv_case(rng, h=1, w=1, pt=1, pl=1, pb=1, pr=1, c=17))
    # More channels (larger gather offsets), tall and wide maps (the interior's lines along rows or columns).
    cases.append(dwconv_case(rng, h=6, w=5, c=64, sh=1, sw=1, pt=1, pb=1, pl=1, pr=1, batch=2))
    cases.append(dwconv_case(rng, h=11, w=4, c=7, sh=1, sw=1, pt=1, pb=1, pl=1, pr=1))
    cases.append(dwconv_case(rng, h=4, w=13, c=6, sh=2, sw=1, pt=1, pb=0, pl=0, pr=1))
    cases.append(dwconv_case(rng, h=8, w=8, pt=0, pl=2, pb=1, pr=0, c=9, sh=1, sw=1, extreme=True))
    # add: every count 1..67, aliasing either input, extreme parameters.
    for n in range(1, 68):
        cases.append(add_case(rng, n, alias=n % 3, extreme=n % 4 == 0))
    for n in (5, 8, 13, 64, 64, 64, 100, 301):
        cases.append(add_case(rng, n, alias=n % 3, ties=True))
    for n in (128, 200, 1024):
        cases.append(add_case(rng, n, alias=int(rng.integers(0, 3))))
        cases.append(add_case(rng, n, extreme=True))
    # pools: random geometry, global windows, both padding rules.
    for family in (3, 4):
        for _ in range(40):
            cases.append(pool_case(rng, family))
        for h, w, c in ((5, 5, 17), (7, 3, 16), (1, 1, 5), (9, 9, 33)):
            cases.append(pool_case(rng, family, h=h, w=w, c=c, kh=h, kw=w, sh=1, sw=1, ph=0, pw=0))
        # Windows over 256 taps (avgpool's int32 sums) and over 5781 (its int64 division).
        cases.append(pool_case(rng, family, h=17, w=19, c=5, kh=17, kw=19, sh=1, sw=1, ph=0, pw=0, batch=1))
        cases.append(pool_case(rng, family, h=77, w=76, c=3, kh=77, kw=76, sh=1, sw=1, ph=0, pw=0, batch=1))
        for include in (0, 1):
            cases.append(
                pool_case(rng, family, h=6, w=7, c=11, kh=3, kw=3, sh=2, sw=2, ph=1, pw=1, include=include)
            )
    return cases


@pytest.fixture(scope="module")
def elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edgebuild.paths import cache_root

    return compile_program("cortex-m55", SOURCES, cache_root() / "mcu-tests" / "mve_dw")


def test_mve_dw_bit_exact(elf: Path, tmp_path: Path) -> None:
    cases = all_cases()
    path = tmp_path / "cases.bin"
    path.write_bytes(b"".join(cases) + _i32(0))
    run = run_program("cortex-m55", elf, (str(path), "check"), timeout=600)
    assert run.returncode == 0, run.stdout
    assert f"{len(cases)} cases, 0 failed" in run.stdout  # every case was read and run


def test_mve_dw_tester_can_fail(elf: Path, tmp_path: Path) -> None:
    """A case the variant cannot match (a packed weight flipped) must fail: the comparison is live."""
    rng = np.random.default_rng(7)
    case = bytearray(
        dwconv_case(rng, c=5, h=4, w=4, pt=1, pb=1, pl=1, pr=1, sh=1, sw=1, extreme=False, exponents=1)
    )
    # The packed weights follow the header (family, 20 fields, has_bias), the input and the reference weights.
    header = 4 * 22
    batch = struct.unpack_from("<i", case, 4)[0]
    n_in = (batch * 4 * 4 * 5 + 3) // 4 * 4
    n_w = (5 * 9 + 3) // 4 * 4
    pos = header + n_in + n_w
    case[pos] = 127 if case[pos] != 127 else 0
    cases = tmp_path / "bad.bin"
    cases.write_bytes(bytes(case) + _i32(0))
    run = run_program("cortex-m55", elf, (str(cases), "check"))
    assert run.returncode == 1, run.stdout


def _count(elf: Path, tmp: Path, case: bytes, which: str) -> int:
    f = tmp / f"bench-{abs(hash(case)) % 10**8}.bin"
    f.write_bytes(case + _i32(0))
    run = run_program("cortex-m55", elf, (str(f), which), count=True)
    assert run.returncode == 0 and run.insns is not None, run.stdout
    return run.insns


def bench() -> None:
    import tempfile

    from edgebuild.paths import cache_root

    elf = compile_program("cortex-m55", SOURCES, cache_root() / "mcu-tests" / "mve_dw")
    rng = np.random.default_rng(1)
    rows = [
        (
            "dwconv 3x3 s1 32x32x32 (CMSIS-NN 0.81 M)",
            dwconv_case(
                rng, batch=1, h=32, w=32, c=32, sh=1, sw=1, pt=1, pb=1, pl=1, pr=1, extreme=False, exponents=1
            ),
            294912,
        ),
        (
            "dwconv 3x3 s2 32x32x32",
            dwconv_case(
                rng, batch=1, h=32, w=32, c=32, sh=2, sw=2, pt=0, pb=1, pl=0, pr=1, extreme=False, exponents=1
            ),
            16 * 16 * 32 * 9,
        ),
        (
            "dwconv 3x3 s1 25x5x64 (KWS)",
            dwconv_case(
                rng, batch=1, h=25, w=5, c=64, sh=1, sw=1, pt=1, pb=1, pl=1, pr=1, extreme=False, exponents=1
            ),
            25 * 5 * 64 * 9,
        ),
        (
            "dwconv 3x3 s1 48x48x8 (VWW)",
            dwconv_case(
                rng, batch=1, h=48, w=48, c=8, sh=1, sw=1, pt=1, pb=1, pl=1, pr=1, extreme=False, exponents=1
            ),
            48 * 48 * 8 * 9,
        ),
        (
            "dwconv 3x3 s2 48x48x16 (VWW)",
            dwconv_case(
                rng, batch=1, h=48, w=48, c=16, sh=2, sw=2, pt=0, pb=1, pl=0, pr=1, extreme=False, exponents=1
            ),
            24 * 24 * 16 * 9,
        ),
        ("add 32x32x16 (IC)", add_case(rng, 32 * 32 * 16), 0),
        ("add 16x16x32 (IC)", add_case(rng, 16 * 16 * 32), 0),
        ("add 8x8x64 (IC)", add_case(rng, 8 * 8 * 64), 0),
        (
            "avgpool global 25x5x64 (KWS)",
            pool_case(rng, 3, batch=1, h=25, w=5, c=64, kh=25, kw=5, sh=1, sw=1, ph=0, pw=0, ceil=0),
            0,
        ),
        (
            "avgpool global 3x3x64 (VWW)",
            pool_case(rng, 3, batch=1, h=3, w=3, c=64, kh=3, kw=3, sh=1, sw=1, ph=0, pw=0, ceil=0),
            0,
        ),
        (
            "maxpool 2x2 s2 32x32x16",
            pool_case(rng, 4, batch=1, h=32, w=32, c=16, kh=2, kw=2, sh=2, sw=2, ph=0, pw=0, ceil=0),
            0,
        ),
    ]
    with tempfile.TemporaryDirectory() as d:
        for name, case, macs in rows:
            ref, mve = (_count(elf, Path(d), case, w) for w in ("ref", "mve"))
            per = f"  ({ref / macs:.2f} -> {mve / macs:.2f} per MAC)" if macs else ""
            print(f"{name:45s} ref {ref:>11,}  mve {mve:>9,}  {ref / mve:5.1f}x{per}")


if __name__ == "__main__":
    sys.exit(bench())
