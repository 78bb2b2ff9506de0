"""Long-lived collaborators of the page, built once per process (st.cache_resource) and keyed by settings.

No interaction reloads the model, the index or the web3 client; changing a setting builds a new
one under the new key.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import streamlit as st
from web3 import Web3

from app.anchor import Anchorer, logger_key, store_path
from app.chain import make_web3
from app.config import Settings
from app.devnet import build_manifest
from app.errors import ChatdappError
from app.siwe import NonceBook
from app.store import Store
from app.tokens import TokenRegistry

POLICY_FILE = "policy.toml"  # in $CHATDAPP_HOME, where `chatdapp draft` reads it too
PAGE_RPC_TIMEOUT = 5.0  # a page waits less than a CLI: a dead node should cost seconds, not tens


@st.cache_resource(show_spinner=False)
def web3_for(rpc_url: str, retries: int) -> Web3:
    return make_web3(rpc_url, timeout=PAGE_RPC_TIMEOUT, retries=min(retries, 1))


@st.cache_resource(show_spinner=False)
def nonce_book() -> NonceBook:
    return NonceBook()


@st.cache_resource(show_spinner=False)
def agent_services(settings_key: str, _settings: Settings):
    """The assistant's collaborators (holdings, drafts with the policy file, index, store), wired once per
    settings; saving the policy clears this so the next draft uses it."""
    from agents.tools import Services as AgentServices

    return AgentServices.from_settings(_settings)


@st.cache_resource(show_spinner="Loading the model…")
def llm_for(settings_key: str, _settings: Settings):
    """The chat model, or the ConfigError that says why there is none (the page then answers without it)."""
    from agents.llm import make_llm

    try:
        return make_llm(_settings)
    except ChatdappError as e:
        return e


@st.cache_resource(show_spinner=False)
def store_at(path: str) -> Store:
    return Store(Path(path))


@st.cache_resource(show_spinner=False)
def _manifest(path: str, mtime: float, rpc_url: str) -> dict:
    if path:
        data = json.loads(Path(path).read_text())
        return {**data, "rpc_url": rpc_url}
    # Devnet addresses are deterministic, so a page pointed at a devnet needs no manifest file.
    return build_manifest(rpc_url)


def load_manifest(settings: Settings) -> dict:
    p = settings.manifest_path
    if p.exists():
        return _manifest(str(p), p.stat().st_mtime, settings.rpc_url)
    return _manifest("", 0.0, settings.rpc_url)


@dataclass
class Services:
    """What one page run works with; properties build lazily so a panel that fails does not block others."""

    settings: Settings

    @cached_property
    def w3(self) -> Web3:
        return web3_for(self.settings.rpc_url, self.settings.rpc_retries)

    @cached_property
    def manifest(self) -> dict:
        return load_manifest(self.settings)

    @cached_property
    def registry(self) -> TokenRegistry:
        return TokenRegistry.from_manifest(self.manifest)

    @property
    def chain_id(self) -> int:
        return int(self.settings.chain_id or self.manifest.get("chain_id") or 31337)

    @property
    def nonces(self) -> NonceBook:
        return nonce_book()

    @cached_property
    def store(self) -> Store:
        return store_at(str(store_path(self.settings)))

    def anchorer(self) -> Anchorer:
        """Built per use (cheap, no chain call); the logger key is the devnet's dev key unless configured."""
        s = self.settings
        log = s.log_address or self.manifest["contracts"]["ConversationLog"]
        return Anchorer(self.w3, self.store, log, chain_id=self.chain_id, private_key=logger_key(s, self.chain_id),
                        max_leaves=s.anchor_max_leaves, every_turns=s.anchor_every_turns, every_s=s.anchor_every_s)

    @property
    def settings_key(self) -> str:
        """Cache key of everything built from settings (secrets come from the environment, not the page)."""
        return self.settings.model_dump_json()
