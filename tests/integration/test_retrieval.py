"""The real embedder (MiniLM from the installed package) over a few real OpenZeppelin files, and the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
OZ = REPO / "node_modules/@openzeppelin/contracts"
FILES = ["token/ERC20/IERC20.sol", "token/ERC20/extensions/IERC20Permit.sol", "token/ERC721/IERC721.sol",
         "utils/Pausable.sol", "utils/cryptography/ECDSA.sol", "build/contracts/ERC20Permit.json"]


@pytest.fixture(scope="module")
def minilm_index(tmp_path_factory):
    from index import open_index

    idx = open_index(tmp_path_factory.mktemp("minilm") / "idx")
    assert idx.add([OZ / f for f in FILES]) > 0
    return idx


def test_minilm_finds_members_from_everyday_wording(minilm_index):
    assert minilm_index.manifest["model"] == "all-MiniLM-L6-v2" and minilm_index.manifest["dims"] == 384
    hits = minilm_index.search("How can I let a dapp spend my tokens using just a signature?", k=5)
    assert ("IERC20Permit", "permit") in [(h.contract, h.member) for h in hits]
    nft = minilm_index.search("What gets logged when an NFT moves to a new owner?", k=3)
    assert (nft[0].contract, nft[0].member, nft[0].kind) == ("IERC721", "Transfer", "event")
    rec = minilm_index.search("recover the address that signed a message hash", k=3)
    assert "recover" in {h.member for h in rec}


def test_cli_add_search_info_json(tmp_path, monkeypatch, minilm_index):
    from typer.testing import CliRunner

    from app.cli import cli

    monkeypatch.setenv("CHATDAPP_HOME", str(tmp_path / "home"))
    d = ["--index-dir", str(tmp_path / "idx"), "--json"]
    runner = CliRunner()

    def run(*args):
        r = runner.invoke(cli, ["index", *args, *d])
        return r.exit_code, json.loads(r.stdout)

    rc, out = run("add", str(OZ / "utils/Pausable.sol"), str(tmp_path / "missing"))
    assert rc == 0 and out["added"] > 0 and out["problems"][0]["message"] == "no such file or folder"
    rc, out = run("search", "Which modifier blocks a function while the contract is paused?", "--k", "3")
    assert rc == 0 and out["hits"][0]["kind"] == "modifier"
    assert out["hits"][0]["citation"].startswith("Pausable.when")
    rc, out = run("info")
    assert rc == 0 and out["chunks"] > 0 and out["model"] == "all-MiniLM-L6-v2"
    rc, out = run("search", " ")
    assert rc == 1 and out == {"ok": False, "error": {"code": "invalid_input", "message": "empty search query"}}
