"""Recipes: a build described by one TOML file (`edgebuild.toml` in the working directory, or `--config FILE`), so
it is reproducible from that file; options given on the command line override it.

    [build]                       # the options of `edgebuild build`, spelled with underscores
    model = "model.pt"            # paths are relative to the recipe's folder
    target = "arm64"
    calib = "calib.npz"
    eval = "eval.npz"

    [compress]
    cluster_bits = 4              # k-means weight sharing, 2..8 bits
    low_rank_energy = 0.95        # or low_rank_size = 0.5
    finetune_epochs = 2
    huffman = true

An unknown table or key, or a value of the wrong type, is an error naming it and the keys that exist.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import EdgebuildError

RECIPE_FILE = "edgebuild.toml"

# key -> (type, is_path)
BUILD_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "model": (str, True),
    "target": (str, False),
    "calib": (str, True),
    "eval": (str, True),
    "input_shape": (str, False),
    "out": (str, True),
    "model_class": (str, False),
    "trust_model": (bool, False),
    "smoke": (bool, False),
    "export": (list, False),
    "float_layers": (str, False),  # "a,b" as on the command line
    "activations": (str, False),  # static | dynamic | auto
    "cache": (bool, False),
    "cache_dir": (str, True),
}
COMPRESS_KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "cluster_bits": (int, False),
    "low_rank_energy": ((float, int), False),
    "low_rank_size": ((float, int), False),
    "finetune_epochs": (int, False),
    "huffman": (bool, False),
    "max_drop": ((float, int), False),
    # pruning and recovery (compress/module_stage.py, docs/sparsity.md)
    "prune": (str, False),
    "prune_scope": (str, False),
    "prune_sensitivity": (bool, False),
    "prune_gradual": (bool, False),
    "distill": (bool, False),
    "train_data": (str, True),
    "epochs": (int, False),
    "lr": ((float, int), False),
    "temperature": ((float, int), False),
    "seed": (int, False),
    "sparse": (str, False),
}
# The command-line defaults of the pruning options: a recipe value applies where the command line kept these.
PRUNE_DEFAULTS: dict[str, object] = {
    "prune": None,
    "prune_scope": "layer",
    "prune_sensitivity": False,
    "prune_gradual": False,
    "distill": False,
    "train_data": None,
    "epochs": 10,
    "lr": 1e-3,
    "temperature": 4.0,
    "seed": 0,
    "sparse": "auto",
}
TABLES = {"build": BUILD_KEYS, "compress": COMPRESS_KEYS}


def find_recipe(explicit: Path | None, cwd: Path | None = None) -> Path | None:
    """--config FILE, else ./edgebuild.toml when it exists, else None."""
    if explicit is not None:
        if not explicit.is_file():
            raise EdgebuildError(f"--config {explicit}: file not found")
        return explicit
    default = (cwd or Path.cwd()) / RECIPE_FILE
    return default if default.is_file() else None


def load_recipe(path: Path) -> dict[str, dict[str, Any]]:
    """{"build": {...}, "compress": {...}} with paths made absolute (relative to the recipe's folder)."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise EdgebuildError(f"{path}: not valid TOML ({e}); fix the file") from e
    except UnicodeDecodeError as e:
        raise EdgebuildError(f"{path}: not UTF-8 text ({e})") from e
    out: dict[str, dict[str, Any]] = {"build": {}, "compress": {}}
    for table, body in doc.items():
        if table not in TABLES:
            raise EdgebuildError(f"{path}: unknown table [{table}]; a recipe has [build] and [compress]")
        if not isinstance(body, dict):
            raise EdgebuildError(f"{path}: '{table}' must be a table ([{table}])")
        keys = TABLES[table]
        for key, value in body.items():
            if key not in keys:
                raise EdgebuildError(
                    f"{path}: unknown key '{key}' in [{table}]; known keys: {', '.join(sorted(keys))}"
                )
            typ, is_path = keys[key]
            # bool is an int in Python: refuse `cluster_bits = true`
            if not isinstance(value, typ) or (isinstance(value, bool) and typ is not bool):
                want = typ.__name__ if isinstance(typ, type) else "number"
                raise EdgebuildError(f"{path}: [{table}] {key} = {value!r} must be a {want}")
            if isinstance(value, list) and not all(isinstance(v, str) for v in value):
                raise EdgebuildError(f"{path}: [build] export must be a list of format names")
            out[table][key] = (path.parent / str(value)).resolve() if is_path else value
    return out
