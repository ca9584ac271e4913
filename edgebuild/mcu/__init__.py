"""Microcontroller targets (targets/cortex-m*.toml): the model compiled ahead of time to C (aot.py), the bare-metal
firmware around it (firmware.py), and the per-core kernel variants the generated code calls (variants/)."""
