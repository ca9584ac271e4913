"""The layout rules of kernels/ukernels (docs/kernel-naming.md), checked on the sources: one folder per family named
after its symbols, exactly one reference twin (ref.cc) per family, every optimized file named after its symbol and
naming its twin in its opening comment, every reference in the CMake source list, every optimized variant in the
microkernel tester."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
UKERNELS = ROOT / "kernels" / "ukernels"
HELPERS = {"requant"}  # per-ISA requantization headers shared by the kernels, not a family
FAMILIES = sorted(p.name for p in UKERNELS.iterdir() if p.is_dir() and p.name not in HELPERS)
DEFINED = re.compile(r'extern "C" [\w\s*]*?\b(eb_\w+)\s*\(')


def opening_comment(path: Path) -> str:
    lines = path.read_text().splitlines()
    block = []
    for line in lines:
        if not line.startswith("//"):
            break
        block.append(line)
    return "\n".join(block)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_has_one_twin_and_names_match(family: str) -> None:
    folder = UKERNELS / family
    assert (folder / "ref.cc").is_file(), f"{family}: no reference twin ref.cc"
    prefix = "eb_" + family.replace("-", "_") + "_"
    twin = prefix + "ref"
    for src in sorted(folder.glob("*.cc")):
        symbols = DEFINED.findall(src.read_text())
        assert symbols, f'{src.name}: defines no extern "C" kernel'
        for sym in symbols:
            assert sym.startswith(prefix), (
                f"{family}/{src.name} defines {sym}: the folder must be named after it"
            )
        if src.name == "ref.cc":
            assert twin in symbols, f"{family}/ref.cc does not define {twin}"
            continue
        # An optimized file: named after its symbol without eb_ and ukernel_, and naming its twin up front.
        stem = src.stem
        assert "__" in stem, f"{src.name}: optimized files are <symbol without eb_/ukernel_>__<isa>.cc"
        assert any(sym.replace("eb_", "", 1).replace("ukernel_", "") == stem for sym in symbols), (
            f"{src.name} defines {symbols}, none of which it is named after"
        )
        assert twin in opening_comment(src), f"{src.name}: its opening comment must name its twin {twin}"


def test_every_reference_is_built() -> None:
    cmake = (ROOT / "kernels" / "CMakeLists.txt").read_text()
    listed = set(re.findall(r"ukernels/([\w-]+/ref\.cc)", cmake))
    present = {f"{f}/ref.cc" for f in FAMILIES}
    assert listed == present, (
        f"CMake lists {sorted(listed - present)} that do not exist; misses {present - listed}"
    )


def test_every_variant_is_in_the_tester() -> None:
    header = (ROOT / "kernels" / "include" / "edgebuild" / "ukernels_isa.h").read_text()
    variants = set(re.findall(r"EB_DECLARE_\w+\((eb_\w+__\w+)\)", header))
    assert len(variants) >= 20
    tester = (ROOT / "kernels" / "test" / "ukernel_tester.cc").read_text()
    missing = sorted(v for v in variants if v not in tester)
    assert not missing, f"optimized kernels the microkernel tester does not call: {missing}"
