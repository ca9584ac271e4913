#!/usr/bin/env bash
# lint.sh: every static rule of the project in one command (STYLE.md: deployment limits are lint, not hope).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
ruff check edgebuild tests examples bench || status=1
ruff format --check -q edgebuild tests examples bench || status=1
mypy edgebuild || status=1
# Runtime and kernels run on devices with no C++ runtime to speak of: no exceptions, RTTI or STL containers.
if grep -rnE 'std::(vector|map|string|unordered_map|shared_ptr|unique_ptr|function)|\bthrow\b|\btry\b|dynamic_cast|typeid' \
     kernels/ukernels kernels/runtime; then
  echo "lint: STL containers, exceptions or RTTI in kernels/ukernels or kernels/runtime (see STYLE.md)" >&2
  status=1
fi
exit $status
