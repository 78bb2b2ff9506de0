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

from app.chain import make_web3
from app.config import Settings
from app.devnet import build_manifest
from app.siwe import NonceBook
from app.tokens import TokenRegistry

PAGE_RPC_TIMEOUT = 5.0  # a page waits less than a CLI: a dead node should cost seconds, not tens


@st.cache_resource(show_spinner=False)
def web3_for(rpc_url: str, retries: int) -> Web3:
    return make_web3(rpc_url, timeout=PAGE_RPC_TIMEOUT, retries=min(retries, 1))


@st.cache_resource(show_spinner=False)
def nonce_book() -> NonceBook:
    return NonceBook()


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
