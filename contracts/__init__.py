"""Compiled contract artifacts (ours from solc-js, third-party from their npm builds) and a loader."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

ARTIFACTS = Path(__file__).parent / "artifacts"
SOURCES = Path(__file__).parent / "src"


@lru_cache(maxsize=None)
def artifact(name: str) -> dict:
    """``artifact("ConversationLog")`` -> {"abi": [...], "bytecode": "0x...", ...}."""
    path = ARTIFACTS / f"{name}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in ARTIFACTS.glob("*.json")))
        raise KeyError(f"no artifact {name!r}; known: {known}")
    return json.loads(path.read_text())


def abi(name: str) -> list:
    return artifact(name)["abi"]


def names() -> list[str]:
    return sorted(p.stem for p in ARTIFACTS.glob("*.json"))
