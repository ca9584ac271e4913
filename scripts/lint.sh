#!/usr/bin/env bash
# lint.sh: every static rule of the project in one command (STYLE.md: deployment limits are lint, not hope).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
# ruff and mypy of the interpreter named by PYTHON=..., else of the project's .venv (scripts/setup.sh), else python3's.
python=${PYTHON:-}
if [[ -z $python ]]; then
  if [[ -x .venv/bin/python ]]; then python=.venv/bin/python; else python=python3; fi
fi
"$python" -m ruff check edgebuild tests examples bench || status=1
"$python" -m ruff format --check -q edgebuild tests examples bench || status=1
"$python" -m mypy edgebuild || status=1
# Runtime and kernels run on devices with no C++ runtime to speak of: no exceptions, RTTI or STL containers.
if grep -rnE 'std::(vector|map|string|unordered_map|shared_ptr|unique_ptr|function)|\bthrow\b|\btry\b|dynamic_cast|typeid' \
     kernels/ukernels kernels/runtime; then
  echo "lint: STL containers, exceptions or RTTI in kernels/ukernels or kernels/runtime (see STYLE.md)" >&2
  status=1
fi
# clang-format on kernels/ (.clang-format at the root), pinned to the version scripts/setup.sh installs: another
# version formats some lines differently. Generated headers are left as the generator writes them.
clang_format=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$clang_format" >/dev/null; then
  echo "lint: $clang_format not found (bash scripts/setup.sh installs it)" >&2
  status=1
else
  mapfile -t sources < <(git ls-files kernels | grep -E '\.(c|cc|h)$' \
    | grep -vE '^kernels/(include/edgebuild/ops_enums|runtime/ops_generated)\.h$')
  "$clang_format" --dry-run -Werror "${sources[@]}" || status=1
fi
# Tests never import the benchmarks (bench/ may import tests' shared models, not the other way round).
if grep -rnE '^\s*(from|import) bench\b' tests; then
  echo "lint: tests import from bench/ (move the shared code into tests/)" >&2
  status=1
fi
exit $status
