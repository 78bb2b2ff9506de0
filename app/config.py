"""Settings, read once at the edge (CLI, page, API constructor) and passed in."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVNET_PORT = 8545
DEVNET_CHAIN_ID = 31337


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHATDAPP_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".chatdapp")
    rpc_url: str = f"http://127.0.0.1:{DEVNET_PORT}"
    chain_id: int | None = None  # expected chain id; None = accept what the node reports
    rpc_timeout: float = 10.0
    rpc_retries: int = 2

    llm: str = "local"  # local | openai | transformers | fake
    llm_model: str | None = None  # path (local/transformers) or model name (openai)
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_threads: int = 2

    slippage_bps: int = 50
    index_dir: Path | None = None

    # Accountable conversations: the logger key anchors digest batches (devnet: anvil dev account 0).
    logger_key: SecretStr | None = None  # 0x-hex private key
    logger_keystore: Path | None = None  # or an encrypted JSON keystore ...
    logger_keystore_password: SecretStr | None = None  # ... and its password
    log_address: str | None = None  # ConversationLog address off the devnet (else the devnet manifest's)
    anchor_every_turns: int = 8  # anchor once this many turns are pending ...
    anchor_every_s: int = 60  # ... or the oldest pending turn is this old (seconds)
    anchor_max_leaves: int = 4096

    def model_post_init(self, __context) -> None:
        self.home = Path(self.home).expanduser()

    @property
    def manifest_path(self) -> Path:
        return self.home / "devnet.json"

    @property
    def resolved_index_dir(self) -> Path:
        return Path(self.index_dir) if self.index_dir else self.home / "index"


def load_settings(**overrides) -> Settings:
    """Environment (CHATDAPP_*) plus explicit overrides (None values are ignored)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
