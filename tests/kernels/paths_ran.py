"""Which ISA paths the tests actually ran (ruy's "covered paths"): recorded by the per-ISA tests, printed at the end
of the session by tests/kernels/conftest.py, and checked by test_isa_arm.py / test_isa_host.py."""

from __future__ import annotations

RAN: dict[tuple[str, str], int] = {}


def record_path(target: str, isa: str, cases: int) -> None:
    RAN[(target, isa)] = RAN.get((target, isa), 0) + cases
