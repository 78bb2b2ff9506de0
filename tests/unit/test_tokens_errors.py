import json

import pytest

from app.devnet import build_manifest
from app.errors import Ambiguous, ChatdappError, ConfigError, InvalidAddress, UnknownToken
from app.tokens import Token, TokenRegistry

pytestmark = pytest.mark.unit


def registry():
    return TokenRegistry.from_manifest(build_manifest("http://127.0.0.1:8545"))


def test_manifest_registry_lookup_any_case():
    reg = registry()
    assert reg.by_symbol("usdc").decimals == 6
    assert reg.by_symbol("Wbtc").decimals == 8
    assert reg.by_symbol("eth").is_native and reg.by_symbol("ether").decimals == 18
    assert reg.by_address(reg.by_symbol("DAI").address.lower()).symbol == "DAI"
    assert reg.by_symbol("vUSDC").kind == "vault"


def test_unknown_and_duplicate_symbols():
    reg = registry()
    with pytest.raises(UnknownToken) as e:
        reg.by_symbol("DOGE")
    assert e.value.code == "unknown_token"
    reg.add(Token("USDC", "0x" + "11" * 20, 6, "Fake USDC"))
    with pytest.raises(Ambiguous):
        reg.by_symbol("USDC")


def test_token_list_file(tmp_path):
    reg = registry()
    p = tmp_path / "list.json"
    p.write_text(json.dumps({"name": "x", "tokens": [
        {"chainId": 31337, "address": "0x" + "ab" * 20, "symbol": "ABC", "name": "Abc", "decimals": 9},
        {"chainId": 1, "address": "0x" + "cd" * 20, "symbol": "OTHER", "name": "Other chain", "decimals": 18},
    ]}))
    assert reg.load_token_list(p) == 1
    assert reg.by_symbol("abc").decimals == 9
    with pytest.raises(UnknownToken):
        reg.by_symbol("OTHER")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError):
        reg.load_token_list(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([{"chainId": 31337, "address": "0x5d6677D3B0fa2F8caf843b217E87cD5eAec9e925", "symbol": "X", "decimals": 1}]))
    with pytest.raises(InvalidAddress):
        reg.load_token_list(wrong)


def test_error_tree_shape():
    e = UnknownToken("nope")
    assert isinstance(e, ChatdappError) and e.to_dict() == {"code": "unknown_token", "message": "nope"}
    assert ChatdappError("x", code="custom").code == "custom"
