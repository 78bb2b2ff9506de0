"""The committed artifacts are exactly what the pinned solc-js produces from the sources."""
import shutil
import subprocess

import pytest

import contracts
from tests.conftest import REPO

pytestmark = pytest.mark.unit


def test_loader():
    art = contracts.artifact("ConversationLog")
    assert art["bytecode"].startswith("0x") and len(art["bytecode"]) > 100
    assert any(e.get("name") == "Anchored" for e in art["abi"])
    assert {"DemoToken", "DevNFT", "DevVault", "UniswapV2Router02", "WETH9", "Multicall3"} <= set(contracts.names())
    with pytest.raises(KeyError):
        contracts.artifact("Nope")


@pytest.mark.slow
def test_recompile_matches_committed_artifacts():
    node = shutil.which("node")
    assert node, "node is required to recompile the contracts"
    r = subprocess.run([node, "contracts/compile.js", "--check"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr + r.stdout


def test_router_init_code_hash_matches_pair_bytecode():
    from eth_utils import keccak

    pair = contracts.artifact("UniswapV2Pair")["bytecode"]
    h = keccak(hexstr=pair).hex()
    router = contracts.artifact("UniswapV2Router02")["bytecode"]
    assert h in router.lower(), "Router02's pairFor() would compute wrong pair addresses"
