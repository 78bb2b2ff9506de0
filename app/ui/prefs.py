"""Page settings a person changes in the Settings tab, persisted under $CHATDAPP_HOME.

The environment (CHATDAPP_*) gives the defaults; what the person saved on the page wins, because
that is the most recent thing they asked for.
"""
from __future__ import annotations

import json
from pathlib import Path

from app.config import Settings, load_settings
from app.errors import ConfigError

FILE = "page-settings.json"
EDITABLE = ("rpc_url", "chain_id", "llm", "llm_model", "llm_base_url", "slippage_bps")


def prefs_path(home: Path) -> Path:
    return Path(home) / FILE


def read_prefs(home: Path) -> dict:
    try:
        data = json.loads(prefs_path(home).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise ConfigError(f"The page settings file {prefs_path(home)} is unreadable: {e}") from e
    return {k: v for k, v in data.items() if k in EDITABLE} if isinstance(data, dict) else {}


def effective_settings() -> Settings:
    base = load_settings()
    saved = read_prefs(base.home)
    return load_settings(**saved) if saved else base


def save_prefs(home: Path, changes: dict) -> dict:
    """Validate through Settings (so a bad value is refused here, not at the next start) and write atomically."""
    merged = {**read_prefs(home), **{k: v for k, v in changes.items() if k in EDITABLE}}
    merged = {k: v for k, v in merged.items() if v not in (None, "")}
    try:
        load_settings(**merged)
    except ValueError as e:
        raise ConfigError(f"That setting is not valid: {e}") from e
    path = prefs_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(merged, indent=2) + "\n")
    tmp.replace(path)
    return merged
