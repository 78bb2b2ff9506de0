"""Shared fixtures: a real anvil devnet per test session (started here, so `pytest` alone is enough)."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "test-output"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


@pytest.fixture(scope="session")
def devnet_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("chatdapp-home")


@pytest.fixture(scope="session")
def devnet(devnet_home):
    """A running devnet world shared by the session; tests that change state use `chain_snapshot`."""
    from app.devnet import Devnet

    d = Devnet(devnet_home, port=free_port())
    d.up(fresh=True)
    yield d
    d.down()


@pytest.fixture(scope="session")
def manifest(devnet) -> dict:
    return devnet.manifest()


@pytest.fixture(scope="session")
def w3(devnet):
    from app.chain import make_web3

    return make_web3(devnet.rpc_url)


@pytest.fixture
def chain_snapshot(w3):
    """Revert the chain after the test, so tests do not see each other's transactions."""
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    yield
    w3.provider.make_request("evm_revert", [snap])


@pytest.fixture
def settings_env(devnet, monkeypatch):
    """Point CHATDAPP_* at the session devnet for code that reads settings at the edge (CLI)."""
    monkeypatch.setenv("CHATDAPP_HOME", str(devnet.paths.home))
    monkeypatch.setenv("CHATDAPP_RPC_URL", devnet.rpc_url)
    return os.environ
