"""Which ISA paths the tests actually ran (ruy's "covered paths"): recorded by the per-ISA tests, printed at the end
of the session by tests/kernels/conftest.py, and checked by test_isa_arm.py / test_isa_host.py. A path compiled in
but not runnable here (an ISA this CPU lacks) is recorded as NOT run, with the reason, and printed as such."""

from __future__ import annotations

RAN: dict[tuple[str, str], int] = {}
NOT_RUN: dict[tuple[str, str], str] = {}


def record_path(target: str, isa: str, cases: int) -> None:
    RAN[(target, isa)] = RAN.get((target, isa), 0) + cases


def record_not_run(target: str, isa: str, reason: str) -> None:
    NOT_RUN[(target, isa)] = reason
