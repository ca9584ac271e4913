"""torchao's PT2E, imported once and quietly.

torchao logs a warning for each CUDA/CUTLASS extension it cannot load on a CPU-only machine, and torch warns about
one of torchao's enum registrations; neither concerns edgebuild users, so both loggers are quieted for the import.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace


def _import() -> SimpleNamespace:
    loggers = [logging.getLogger(name) for name in ("torchao", "torch.utils._pytree")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        import torchao.quantization.pt2e as _pt2e
        from torchao.quantization.pt2e import quantizer
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e, prepare_qat_pt2e
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
    return SimpleNamespace(
        quantizer=quantizer,
        prepare_pt2e=prepare_pt2e,
        prepare_qat_pt2e=prepare_qat_pt2e,
        move_exported_model_to_train=_pt2e.move_exported_model_to_train,
        move_exported_model_to_eval=_pt2e.move_exported_model_to_eval,
        convert_pt2e=convert_pt2e,
        HistogramObserver=_pt2e.HistogramObserver,
        MinMaxObserver=_pt2e.MinMaxObserver,
        PerChannelMinMaxObserver=_pt2e.PerChannelMinMaxObserver,
    )


pt2e = _import()
