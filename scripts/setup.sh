#!/usr/bin/env bash
# setup.sh: install what edgebuild needs on Debian/Ubuntu, skipping whatever is already there.
#
#   ./scripts/setup.sh            # idempotent, non-interactive; a few seconds when everything is present
#
# Debian packages: the ARM cross compilers and qemu-user; the bare-metal compiler gcc-arm-none-eabi with newlib and
# qemu-system-arm for microcontroller targets (~1 GB together); for `edgebuild profile` and its tests: openssh (ssh
# devices; the tests start their own sshd on loopback), chromium (the report.html check) and adb (Android phones).
# apt runs only when one is missing.
# Python: everything goes into the project's virtual environment .venv in this checkout (Debian's and Ubuntu's
# python3 refuse pip installs outside one, PEP 668). It is made with --system-site-packages, so a torch 2.13.0
# the machine already has is reused rather than downloaded again. Into it: torch==2.13.0 first (pinned exactly; on
# x86_64 the CPU build, as PyPI's pulls several GB of CUDA packages), the build tools, then edgebuild itself,
# editable, with its test extra, then facenet-pytorch without its requirements. `.venv/bin/edgebuild` runs without
# activating it; `. .venv/bin/activate` puts edgebuild on PATH.
# An activated virtual environment ($VIRTUAL_ENV) is used instead of making .venv (.venv becomes a link to it).
# PYTHON=... installs into that interpreter as it is, without a virtual environment.
# EDGEBUILD_TORCH_INDEX=URL: where the x86_64 CPU torch comes from when pip's own configuration does not offer it
# (default https://download.pytorch.org/whl/cpu).
# EDGEBUILD_SETUP_FORCE=1 reinstalls edgebuild even when its sources have not changed.
# EDGEBUILD_SETUP_MUSL=1 also installs musl for arm64/armv7 (multiarch), for small `--lean` runners (see below).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
TORCH_VERSION=2.13.0

say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# apt-get install, as root or through sudo.
apt_install() {
  say "installing Debian packages: $*"
  command -v apt-get >/dev/null || die "apt-get not found; install these packages by hand: $*"
  local sudo=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo; run: apt-get install $*"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Debian packages -------------------------------------------------------------------------------------------
# program:package pairs; a package is installed only when its program is missing.
tools=(
  g++:g++
  cmake:cmake
  aarch64-linux-gnu-g++:g++-aarch64-linux-gnu
  arm-linux-gnueabihf-g++:g++-arm-linux-gnueabihf
  qemu-aarch64:qemu-user
  qemu-arm:qemu-user
  clang-14:clang-14              # sanitizer and libFuzzer builds (tests/trust, docs/fuzzing.md)
  clang-14:libclang-rt-14-dev
  clang-format-14:clang-format-14  # scripts/lint.sh: clang-format on kernels/ (pinned: versions format differently)
  sshd:openssh-server
  ssh:openssh-client
  chromium:chromium
  adb:adb
  javac:openjdk-17-jdk-headless  # the Java binding's tests (kernels/java, docs/integration.md)
  pkg-config:pkg-config          # the C library package's edgebuild.pc (tests/interop)
  strace:strace                  # tests/kernels/runtime/test_threads.py: workers pin to the fast cores (syscalls seen)
  arm-none-eabi-gcc:gcc-arm-none-eabi  # microcontroller targets (targets/cortex-m*.toml, docs/microcontrollers.md)
  qemu-system-arm:qemu-system-arm      # runs their firmware (mps2-an386, mps3-an547)
)
missing=()
for pair in "${tools[@]}"; do
  program=${pair%%:*} package=${pair#*:}
  if ! command -v "$program" >/dev/null 2>&1 && ! [[ -x /usr/sbin/$program ]] && [[ " ${missing[*]-} " != *" $package "* ]]; then
    missing+=("$package")
  fi
done
# newlib for the microcontroller firmware (libc + semihosting; no program to look for): its specs file. Not the
# C++ library package (libstdc++-arm-none-eabi-newlib, 1.5 GB): the firmware links no libstdc++.
if ! [[ -f /usr/lib/arm-none-eabi/newlib/rdimon.specs ]] && [[ " ${missing[*]-} " != *" libnewlib-arm-none-eabi "* ]]; then
  missing+=(libnewlib-arm-none-eabi)
fi
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
else
  say "Debian packages: all present"
fi

# --- musl for lean runners (opt-in: EDGEBUILD_SETUP_MUSL=1) ----------------------------------------------------
# `edgebuild build --lean` links arm64/armv7 runners statically against musl when Debian's musl-dev:arm64 /
# musl-dev:armhf are installed (targets/*.toml [lean]; docs/footprint.md: digits 181 KiB instead of 688 KiB with
# glibc). Not by default: they are foreign-architecture packages, so this adds arm64 and armhf to dpkg's
# architectures, and every later `apt-get update` then fetches their package lists too (on Ubuntu they live on
# ports.ubuntu.com, so apt's sources must say so first, or apt-get update fails: then this step undoes its change).
if [[ ${EDGEBUILD_SETUP_MUSL:-0} == 1 ]]; then
  musl=()
  [[ -f /usr/lib/aarch64-linux-musl/musl-gcc.specs ]] || musl+=(arm64)
  [[ -f /usr/lib/arm-linux-musleabihf/musl-gcc.specs ]] || musl+=(armhf)
  if ((${#musl[@]})); then
    command -v dpkg >/dev/null || die "EDGEBUILD_SETUP_MUSL=1 needs dpkg and apt-get (Debian or Ubuntu)"
    sudo=()
    if [[ $(id -u) != 0 ]]; then
      command -v sudo >/dev/null || die "not root and no sudo; run as root: dpkg --add-architecture ... (docs/footprint.md)"
      sudo=(sudo)
    fi
    added=()
    for arch in "${musl[@]}"; do
      if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        "${sudo[@]}" dpkg --add-architecture "$arch" && added+=("$arch")
      fi
    done
    say "installing Debian packages: ${musl[*]/#/musl-dev:}"
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo[@]}" apt-get update -qq; then
      for arch in "${added[@]}"; do "${sudo[@]}" dpkg --remove-architecture "$arch"; done
      "${sudo[@]}" apt-get update -qq || true
      die "apt-get update failed with architectures ${musl[*]} added (removed again); give apt sources for them (Ubuntu: ports.ubuntu.com) and rerun"
    fi
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${musl[@]/#/musl-dev:}" >/dev/null
  else
    say "musl for lean runners (musl-dev:arm64, musl-dev:armhf): present"
  fi
fi

# --- Python: the interpreter and its virtual environment -----------------------------------------------------
# $1 runs Python >= 3.11 (pyproject.toml's requires-python)?
new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
# Debian ships parts of the standard distribution in separate packages named after the interpreter's version:
# python3.11-venv (ensurepip, without which `python3 -m venv` fails) and python3.11-dev (Python.h, for the
# pybind11 module). $1 = interpreter, $2 = suffix.
debian_python_package() { printf 'python%s-%s' "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$2"; }

venv=$PWD/.venv
if [[ -n ${PYTHON:-} ]]; then
  given=$PYTHON
  PYTHON=$(command -v "$given") || die "PYTHON=$given: no such interpreter"
elif [[ -n ${VIRTUAL_ENV:-} ]]; then
  PYTHON=$VIRTUAL_ENV/bin/python
  # The README's commands run .venv/bin/...: point .venv at the active environment when nothing else is there.
  if [[ $(realpath -m "$VIRTUAL_ENV") != $(realpath -m "$venv") ]]; then
    if [[ ! -e $venv || -L $venv ]]; then
      ln -sfn "$VIRTUAL_ENV" "$venv"
      say "using the active virtual environment $VIRTUAL_ENV (.venv links to it)"
    else
      say "warning: using the active virtual environment $VIRTUAL_ENV, not this checkout's .venv"
    fi
  fi
else
  if ! [[ -x $venv/bin/python ]] || ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    base=
    for candidate in python3 python3.13 python3.12 python3.11; do  # Ubuntu 22.04's python3 is 3.10
      if command -v "$candidate" >/dev/null && new_enough "$candidate"; then base=$candidate && break; fi
    done
    [[ -n $base ]] || die "edgebuild needs Python >= 3.11; python3 is $(python3 --version 2>&1 || echo missing)
  (Debian 12, Ubuntu 24.04: apt-get install python3; Ubuntu 22.04: apt-get install python3.11)"
    if ! "$base" -c 'import ensurepip' 2>/dev/null; then
      apt_install "$(debian_python_package "$base" venv)"
    fi
    say "creating the virtual environment .venv ($("$base" --version 2>&1), with its system site packages)"
    rm -rf "$venv"  # a half-made one (e.g. from a failed `python3 -m venv`) would not get pip
    "$base" -m venv --system-site-packages "$venv"
  fi
  PYTHON=$venv/bin/python
fi
new_enough "$PYTHON" || die "$PYTHON is $("$PYTHON" --version 2>&1); edgebuild needs Python >= 3.11"
# PYTHON= given by hand may still be a system Python that pip may not change (PEP 668): say what to do instead.
if "$PYTHON" -c 'import sys, sysconfig, pathlib
sys.exit(sys.prefix != sys.base_prefix or not (pathlib.Path(sysconfig.get_path("stdlib")) / "EXTERNALLY-MANAGED").exists())'
then
  die "$PYTHON is the system's Python, which pip may not change; run ./scripts/setup.sh without PYTHON= (it makes .venv)"
fi
if ! "$PYTHON" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
  apt_install "$(debian_python_package "$PYTHON" dev)"  # headers for the pybind11 module
fi

# --- Python packages -------------------------------------------------------------------------------------------
pip=("$PYTHON" -m pip install --quiet --disable-pip-version-check)

if "$PYTHON" -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  say "torch $TORCH_VERSION: present"
else
  torch=("torch==$TORCH_VERSION")
  if [[ $(uname -m) == x86_64 ]]; then
    # PyPI's x86_64 torch is the CUDA build; the CPU build is the +cpu release on PyTorch's own index. One that pip's
    # configuration already offers (find-links, a mirror) is used as is.
    torch=("torch==$TORCH_VERSION+cpu")
    if ! "$PYTHON" -m pip install --dry-run --quiet --no-deps "${torch[@]}" >/dev/null 2>&1; then
      torch+=(--extra-index-url "${EDGEBUILD_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}")
    fi
  fi
  say "installing ${torch[*]}"
  "${pip[@]}" "${torch[@]}"
fi

# The build backend is used without isolation, so its tools must be in this environment.
if ! "$PYTHON" -c 'import scikit_build_core, pybind11, ninja' 2>/dev/null; then
  say "installing build tools: scikit-build-core pybind11 ninja"
fi
"${pip[@]}" --no-build-isolation "scikit-build-core>=0.10" "pybind11>=2.12" ninja

# Reinstall edgebuild only when what the install builds from changed (the stamp hashes those files); the
# editable install keeps Python sources live, so Python-only edits need no reinstall.
stamp_file=build/.setup-stamp
stamp=$( { "$PYTHON" -c 'import sys; print(sys.executable)'
           find pyproject.toml CMakeLists.txt kernels -type f ! -path '*/__pycache__/*' -print0 2>/dev/null \
             | sort -z | xargs -0 -r sha256sum || true; } | sha256sum | cut -d' ' -f1 )
# From / so that this checkout's own folder on sys.path cannot answer for an install.
installed_here=$(cd / && "$PYTHON" -c \
  'import edgebuild, pathlib; print(pathlib.Path(edgebuild.__file__).resolve().parents[1])' 2>/dev/null || true)
if [[ ${EDGEBUILD_SETUP_FORCE:-0} != 1 && $installed_here == "$PWD" && -f $stamp_file \
      && $(cat "$stamp_file") == "$stamp" ]]; then
  say "edgebuild: installed from this checkout and up to date"
else
  say "installing edgebuild (editable, with test extras)"
  "${pip[@]}" --no-build-isolation -e ".[test]"
  mkdir -p build && printf '%s\n' "$stamp" >"$stamp_file"
fi

# facenet-pytorch's MTCNN weights (tests/zoo/test_real_weights.py), without its requirements: they would replace
# torch 2.13 with 2.2 and add torchvision. The tests load PNet/RNet/ONet without the torchvision-using parts.
FACENET_VERSION=2.6.0
if [[ $("$PYTHON" -c 'import importlib.metadata as m; print(m.version("facenet-pytorch"))' 2>/dev/null) == "$FACENET_VERSION" ]]; then
  say "facenet-pytorch $FACENET_VERSION: present"
else
  say "installing facenet-pytorch==$FACENET_VERSION (--no-deps)"
  "${pip[@]}" --no-deps "facenet-pytorch==$FACENET_VERSION"
fi

# onnx2torch (ONNX in: edgebuild/onnx_in.py), without its requirements: they add torchvision, whose PyPI build breaks
# beside torch 2.13. edgebuild imports it with a stand-in for torchvision (only its NMS / RoiAlign converters use it).
ONNX2TORCH_VERSION=1.5.15
if [[ $("$PYTHON" -c 'import importlib.metadata as m; print(m.version("onnx2torch"))' 2>/dev/null) == "$ONNX2TORCH_VERSION" ]]; then
  say "onnx2torch $ONNX2TORCH_VERSION: present"
else
  say "installing onnx2torch==$ONNX2TORCH_VERSION (--no-deps)"
  "${pip[@]}" --no-deps "onnx2torch==$ONNX2TORCH_VERSION"
fi

say "ready: $("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/edgebuild"
