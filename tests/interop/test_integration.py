"""The C library package, its C / Python (cffi) / Java examples from docs/integration.md, and the C API through cffi.

The package is built and installed (`cmake --install`) into a temporary prefix for the host and for arm64; the
examples are compiled against the *installed* files, as an app would, and must print exactly what `edgebuild run`
prints for the same bundle and input.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgebuild.paths import source_root
from edgebuild.pipeline import BuildOptions, build
from edgebuild.targets import load_target, ninja_generator

ROOT = source_root()
DOC = ROOT / "docs" / "integration.md"
DIGITS = ROOT / "examples" / "digits"


def doc_example(name: str) -> str:
    """The fenced code block that follows `<!-- example: NAME -->` in docs/integration.md."""
    m = re.search(rf"<!-- example: {re.escape(name)} -->\n```\w*\n(.*?)\n```", DOC.read_text(), re.DOTALL)
    assert m, f"docs/integration.md has no example {name}"
    return m.group(1) + "\n"


def run(argv: list[str | Path], **kw: object) -> str:
    done = subprocess.run(  # type: ignore[call-overload]
        [str(a) for a in argv], check=False, capture_output=True, text=True, timeout=600, **kw
    )
    assert done.returncode == 0, f"{argv}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def install_package(target: str, build_dir: Path, prefix: Path) -> Path:
    t = load_target(target)
    cmd: list[str | Path] = [
        "cmake", "-S", ROOT / "kernels", "-B", build_dir, *ninja_generator(), "-DCMAKE_BUILD_TYPE=Release",
        f"-DCMAKE_C_FLAGS={' '.join(t.flags)}", f"-DCMAKE_CXX_FLAGS={' '.join(t.flags)}",
    ]  # fmt: skip
    if t.toolchain_file is not None:
        cmd.append(f"-DCMAKE_TOOLCHAIN_FILE={t.toolchain_file}")
    run(cmd)
    run(["cmake", "--build", build_dir])
    run(["cmake", "--install", build_dir, "--prefix", prefix])
    return prefix


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("integration")


@pytest.fixture(scope="module")
def bundle(work: Path) -> tuple[Path, Path, list[str]]:
    """(bundle, raw float32 input, the lines `edgebuild run` prints for it)."""
    out = work / "digits-host"
    build(BuildOptions(DIGITS / "model.pt", "host", calib=DIGITS / "calib.npz", out=out, smoke=False))
    x = np.load(DIGITS / "calib.npz")["x"][7:8].astype(np.float32)
    np.save(work / "x.npy", x)
    x.tofile(work / "x.f32")
    printed = run([sys.executable, "-m", "edgebuild.cli", "run", out, "--input", work / "x.npy"])
    lines = [ln for ln in printed.splitlines() if "fnv1a64=" in ln]
    assert lines
    return out, work / "x.f32", lines


@pytest.fixture(scope="module")
def host_prefix(work: Path) -> Path:
    return install_package("host", work / "build-host", work / "prefix-host")


def test_installed_package(host_prefix: Path) -> None:
    files = {
        p.relative_to(host_prefix).as_posix() for p in host_prefix.rglob("*") if p.is_file() or p.is_symlink()
    }
    for f in (
        "include/edgebuild/edgebuild.h",
        "lib/libedgebuild.a",
        "lib/libedgebuild.so",
        "lib/cmake/edgebuild/edgebuildConfig.cmake",
        "lib/cmake/edgebuild/edgebuildConfigVersion.cmake",
        "lib/pkgconfig/edgebuild.pc",
        "bin/edgebuild-run",
    ):
        assert f in files, f
    exported = run(["nm", "-D", "--defined-only", host_prefix / "lib/libedgebuild.so"])
    names = [ln.split()[-1] for ln in exported.splitlines() if " T " in ln]
    assert names and all(n.startswith("eb_") for n in names), names
    env = dict(os.environ, PKG_CONFIG_PATH=str(host_prefix / "lib/pkgconfig"))
    flags = run(["pkg-config", "--cflags", "--libs", "edgebuild"], env=env)
    assert f"-I{host_prefix}/include" in flags.replace("/lib/pkgconfig/../..", "") or "-I" in flags


def test_c_example_host(bundle: tuple[Path, Path, list[str]], host_prefix: Path, work: Path) -> None:
    out, x, expected = bundle
    src = work / "c-example"
    src.mkdir()
    (src / "main.c").write_text(doc_example("main.c"))
    (src / "CMakeLists.txt").write_text(doc_example("CMakeLists.txt"))
    run(["cmake", "-S", src, "-B", src / "build", *ninja_generator(), f"-DCMAKE_PREFIX_PATH={host_prefix}"])
    run(["cmake", "--build", src / "build"])
    printed = run([src / "build" / "example", out / "model.ebm", x])
    assert printed.splitlines() == expected


def test_c_example_arm64(bundle: tuple[Path, Path, list[str]], work: Path) -> None:
    out, x, expected = bundle
    prefix = install_package("arm64", work / "build-arm64", work / "prefix-arm64")
    (work / "main.c").write_text(doc_example("main.c"))
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib/pkgconfig"))
    flags = run(["pkg-config", "--cflags", "--static", "--libs", "edgebuild"], env=env).split()
    exe = work / "example-arm64"
    run(["aarch64-linux-gnu-gcc", "-static", work / "main.c", "-o", exe, *flags])
    assert exe.read_bytes()[18:20] == (183).to_bytes(2, "little")  # ELF e_machine = EM_AARCH64
    printed = run([*load_target("arm64").emulator, exe, out / "model.ebm", x])
    assert printed.splitlines() == expected


def test_cffi_example(bundle: tuple[Path, Path, list[str]], host_prefix: Path, work: Path) -> None:
    out, x, expected = bundle
    script = work / "run_cffi.py"
    script.write_text(doc_example("run_cffi.py"))
    printed = run([sys.executable, script, host_prefix / "lib/libedgebuild.so", out / "model.ebm", x])
    assert printed.splitlines() == expected


def test_c_api_through_cffi(bundle: tuple[Path, Path, list[str]], host_prefix: Path) -> None:
    """The C API as an app links it (cffi ABI mode): memory open, inspection, per-op profile, errors."""
    from cffi import FFI

    out, x_path, _ = bundle
    header = (host_prefix / "include/edgebuild/edgebuild.h").read_text().splitlines()
    decls = [
        ln
        for ln in header
        if (not ln.startswith("#") or re.match(r"#define EB_\w+ \d+$", ln))
        and 'extern "C"' not in ln
        and not ln.startswith("}  // extern")
    ]
    ffi = FFI()
    ffi.cdef("\n".join(decls))
    eb = ffi.dlopen(str(host_prefix / "lib/libedgebuild.so"))
    data = (out / "model.ebm").read_bytes()
    buf = ffi.new("char[]", len(data) + 64)
    addr = int(ffi.cast("uintptr_t", buf))
    aligned = buf + (-addr % eb.EB_BUFFER_ALIGNMENT)
    ffi.memmove(aligned, data, len(data))
    err = ffi.new("char[512]")
    pm = ffi.new("eb_model**")
    assert eb.eb_model_open_memory(aligned, len(data), pm, err, 512) == eb.EB_OK, ffi.string(err)
    m = pm[0]
    info = ffi.new("eb_tensor_info*")
    assert eb.eb_model_num_inputs(m) == 1 and eb.eb_model_num_outputs(m) == 1
    assert eb.eb_model_input_info(m, 0, info) == eb.EB_OK
    assert [info.dims[i] for i in range(info.rank)] == [1, 1, 8, 8] and info.dtype == eb.EB_DTYPE_FLOAT32
    x = np.fromfile(x_path, np.float32)
    eb.eb_model_set_profiling(m, 1)
    assert eb.eb_model_set_input(m, 0, ffi.cast("float*", x.ctypes.data), x.size) == eb.EB_OK
    assert eb.eb_model_invoke(m) == eb.EB_OK
    y = np.empty(10, np.float32)
    assert eb.eb_model_get_output(m, 0, ffi.cast("float*", y.ctypes.data), 10) == eb.EB_OK
    from edgebuild.pipeline import native_model

    np.testing.assert_array_equal(y, np.asarray(native_model(data).run([x.reshape(1, 1, 8, 8)])[0]).ravel())
    ns = ffi.new("uint64_t*")
    op = ffi.new("eb_op_info*")
    total = 0
    for i in range(eb.eb_model_num_ops(m)):
        assert eb.eb_model_op_info(m, i, op) == eb.EB_OK and ffi.string(op.type)
        assert eb.eb_model_op_time_ns(m, i, ns) == eb.EB_OK
        total += ns[0]
    assert total > 0
    # errors: a wrong element count, an index out of range, each with a message
    assert eb.eb_model_set_input(m, 0, ffi.cast("float*", x.ctypes.data), 3) == eb.EB_ERR_SHAPE
    assert ffi.string(eb.eb_model_last_error(m))
    assert eb.eb_model_output_info(m, 5, info) == eb.EB_ERR_ARGUMENT
    eb.eb_model_close(m)
    bad = bytearray(data)
    bad[100] ^= 0xFF
    buf2 = ffi.new("char[]", len(bad) + 64)
    aligned2 = buf2 + (-int(ffi.cast("uintptr_t", buf2)) % eb.EB_BUFFER_ALIGNMENT)
    ffi.memmove(aligned2, bytes(bad), len(bad))
    status = eb.eb_model_open_memory(aligned2, len(bad), pm, err, 512)
    assert status == eb.EB_ERR_CHECKSUM and pm[0] == ffi.NULL
    assert ffi.string(eb.eb_status_name(status)) == b"EB_ERR_CHECKSUM" and b"checksum" in ffi.string(err)
    assert eb.eb_model_open_file(b"/nonexistent.ebm", pm, err, 512) == eb.EB_ERR_IO


def _java_home() -> Path:
    javac = shutil.which("javac")
    assert javac, "javac not found: install openjdk-17-jdk-headless (scripts/setup.sh)"
    return Path(javac).resolve().parents[1]


def test_java_example(bundle: tuple[Path, Path, list[str]], work: Path) -> None:
    out, x, expected = bundle
    jni = work / "build-jni"
    env = dict(os.environ, JAVA_HOME=str(_java_home()))
    run(
        ["cmake", "-S", ROOT / "kernels/java", "-B", jni, *ninja_generator(), "-DCMAKE_BUILD_TYPE=Release"],
        env=env,
    )
    run(["cmake", "--build", jni], env=env)
    (work / "Main.java").write_text(doc_example("Main.java"))
    classes = work / "classes"
    run(["javac", "-d", classes, ROOT / "kernels/java/src/dev/edgebuild/Model.java", work / "Main.java"])
    java = ["java", f"-Dedgebuild.jni={jni / 'libedgebuild_jni.so'}", "-cp", classes, "Main"]
    assert run([*java, out / "model.ebm", x]).splitlines() == expected
    # a bad file is an IllegalArgumentException carrying the runtime's message
    (work / "bad.ebm").write_bytes(b"not a model")
    bad = [str(a) for a in [*java, work / "bad.ebm", x]]
    done = subprocess.run(bad, check=False, capture_output=True, text=True, timeout=120)
    assert (
        done.returncode != 0 and "IllegalArgumentException" in done.stderr and "EB_ERR_FORMAT" in done.stderr
    )
