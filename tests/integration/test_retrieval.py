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
    assert minilm_index.manifest["model"].startswith("all-MiniLM-L6-v2+contracts@") and minilm_index.manifest["dims"] == 384
    hits = minilm_index.search("How can I let a dapp spend my tokens using just a signature?", k=5)
    assert ("IERC20Permit", "permit") in [(h.contract, h.member) for h in hits]
    nft = minilm_index.search("What gets logged when an NFT moves to a new owner?", k=3)
    assert (nft[0].contract, nft[0].member, nft[0].kind) == ("IERC721", "Transfer", "event")
    rec = minilm_index.search("recover the address that signed a message hash", k=3)
    assert "recover" in {h.member for h in rec}
    # The two pause errors differ by one "not"; which one a short "is paused" question puts first is a
    # near-tie for every adapter so far (round 5 puts ExpectedPause 0.02 ahead), so both must lead here,
    # and the negated question must pick its own.
    frozen = minilm_index.search("My transfer reverted because the token is frozen right now. What custom error is that?", k=3)
    assert {(h.contract, h.member) for h in frozen[:2]} == {("Pausable", "EnforcedPause"), ("Pausable", "ExpectedPause")}
    unpaused = minilm_index.search("Which error is raised when unpause is called but the contract is not paused?", k=3)
    assert (unpaused[0].contract, unpaused[0].member) == ("Pausable", "ExpectedPause")


def test_the_contracts_adapter_is_merged_and_checked(tmp_path):
    import torch
    from safetensors.torch import save_file

    from app.errors import ConfigError
    from index import SentenceEmbedder
    from index._embed import BASE_MODEL, _model_path, load_float, merge_adapter

    tuned, base = SentenceEmbedder(), SentenceEmbedder(BASE_MODEL)
    assert tuned.name.startswith("all-MiniLM-L6-v2+contracts@") and base.name == BASE_MODEL
    text = ["which error do I get when the contract is paused"]
    cos = float(tuned.encode(text)[0] @ base.encode(text)[0])
    assert 0.5 < cos < 0.995  # moved by the delta, still the same model underneath
    bad = tmp_path / "bad.safetensors"
    save_file({"scale": torch.tensor(2.0), "0.query.A": torch.zeros(8, 384), "0.query.B": torch.zeros(384, 8)}, str(bad))
    with pytest.raises(ConfigError, match="does not fit"):
        merge_adapter(load_float(str(_model_path(BASE_MODEL))), str(bad))


def test_training_fits_a_delta_on_every_projection(minilm_index, tmp_path):
    from index._embed import BASE_MODEL, _model_path, adapted_linears, load_float
    from index.train import examples, fit, load_examples, save_examples

    case = {"id": "q", "question": "Which error is raised when a function runs while the contract is paused?",
            "expect": {"member": "EnforcedPause", "contracts": ["Pausable"]}, "_file": "train99.jsonl"}
    data = examples(minilm_index, [case])
    assert len(data) == 1 and data[0].answers[0].member == "EnforcedPause" and data[0].source == "train99.jsonl"
    assert data[0].twins and all(t.member != "EnforcedPause" for t in data[0].twins)
    save_examples(data, tmp_path / "ex.json")  # what a GPU machine fits from, without the corpora
    again = load_examples(tmp_path / "ex.json")
    assert [(e.query, e.answers, e.twins, e.source) for e in again] == [(e.query, e.answers, e.twins, e.source) for e in data]
    assert again[0].answers[0].text == {c.id: c for c in minilm_index.chunks}[again[0].answers[0].id].embed_text()
    tensors = fit(again * 4, epochs=1, batch=4, log=lambda *_: None)
    names = set(adapted_linears(load_float(str(_model_path(BASE_MODEL)))))
    assert {k.rsplit(".", 1)[0] for k in tensors if k != "scale"} == names and len(names) == 36
    assert any(float(t.float().abs().max()) > 0 for k, t in tensors.items() if k.endswith(".B"))


def test_round_two_puts_what_round_one_still_confuses_first(tmp_path):
    from index import open_index
    from index._embed import ADAPTER, BASE_MODEL
    from index.train import Part, _remine, examples

    case = {"id": "q", "question": "Which error is raised when a function runs while the contract is paused?",
            "expect": {"member": "EnforcedPause", "contracts": ["Pausable"]}}
    files = [f for f in FILES if f.endswith(".sol")]
    untuned = open_index(tmp_path / "untuned", model=BASE_MODEL)
    untuned.add([OZ / f for f in files])
    got = examples(untuned, [case])
    before = [c.id for c in got[0].twins]
    shipped = open_index(tmp_path / "shipped")  # round 1 is played here by the shipped adapter
    shipped.add([OZ / f for f in files])
    tuned = examples(shipped, [case])[0].twins
    again = _remine(got, ADAPTER, tmp_path, OZ, Part("t", {}, tuple(files), ()), [case])[0].twins
    assert [c.id for c in again[:6]] == [c.id for c in tuned[:6]]
    assert set(c.id for c in again[6:]) <= set(before) and len(again) <= 10
    assert all(c.member != "EnforcedPause" for c in again)


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
    assert rc == 0 and out["chunks"] > 0 and out["model"].startswith("all-MiniLM-L6-v2+contracts@")
    rc, out = run("search", " ")
    assert rc == 1 and out == {"ok": False, "error": {"code": "invalid_input", "message": "empty search query"}}
