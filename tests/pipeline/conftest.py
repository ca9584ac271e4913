"""The pipeline tests use the trust tests' CLI fixtures (in-process `edgebuild`, a 16-sample digits calibration)."""

from tests.trust.conftest import edgebuild, small_calib

__all__ = ["edgebuild", "small_calib"]
