"""Explanation facts, plain-text explanation and chart rows from hand-built holdings (no chain)."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from app.holdings import (
    Approval, Holding, Holdings, NftHolding, Underlying, Unreadable, chart_data, explain_holdings, holdings_facts,
)

pytestmark = pytest.mark.unit

A = "0x" + "aa" * 20
USDC, DAI, VAULT, ROUTER, STRANGER, NFT, BAD = ("0x" + c * 40 for c in "1234567")
MAX = 2**256 - 1


def _erc20(symbol, decimals, whole, price):
    bal = whole * 10**decimals
    value = None if price is None else Decimal(whole) * price
    return Holding(symbol, symbol, "0x" + "9" * 40, "erc20", decimals, bal, price, value)


def _wallet() -> Holdings:
    h = Holdings(A, 31337, 42, vault_for={"USDC": "vUSDC"})
    h.holdings = [
        _erc20("USDC", 6, 1000, Decimal(1)),
        Holding("ETH", "Ether", "", "native", 18, 2 * 10**18, Decimal(3000), Decimal(6000)),
        _erc20("DAI", 18, 500, Decimal(1)),
        Holding("vUSDC", "vUSDC", VAULT, "vault", 6, 100 * 10**6, Decimal(1), Decimal(100),
                Underlying("USDC", USDC, 6, 100 * 10**6)),
        _erc20("NOPOOL", 18, 5, None),
    ]
    h.nfts = [NftHolding("DEVNFT", "Dev NFT", NFT, 2, [1, 3], "enumerable")]
    h.approvals = [
        Approval(USDC, "USDC", 6, ROUTER, "UniswapV2Router02", MAX),
        Approval(DAI, "DAI", 18, STRANGER, None, 5 * 10**18),
        Approval(DAI, "DAI", 18, VAULT, "vUSDC vault", 7 * 10**18),
    ]
    h.unreadable = [Unreadable(BAD, "BAD", "decimals() reverted or ran out of gas")]
    h.rank()
    return h


def test_rank_orders_by_value_and_sets_shares():
    h = _wallet()
    assert [x.symbol for x in h.holdings] == ["ETH", "USDC", "DAI", "vUSDC", "NOPOOL"]
    assert h.total_usd == Decimal(7600)
    assert abs(Fraction(h.holding("eth").share) - Fraction(6000, 7600)) < Fraction(1, 10**55)
    assert h.holding("NOPOOL").share is None
    assert sum(x.share for x in h.holdings if x.share is not None) == pytest.approx(Decimal(1), abs=Decimal("1e-40"))


def test_facts():
    f = holdings_facts(_wallet())
    assert f["total_usd"] == "7600.00" and f["asset_count"] == 5 and not f["empty"]
    assert f["unpriced"] == ["NOPOOL"]
    assert [t["symbol"] for t in f["top_holdings"]] == ["ETH", "USDC", "DAI", "vUSDC"]
    assert f["top_holdings"][0] == {"symbol": "ETH", "amount": "2", "usd": "6000.00", "share": "0.7895"}
    assert f["concentration"] == {"symbol": "ETH", "share": "0.7895"}
    assert [(s["symbol"], s["vault"]) for s in f["idle_stablecoins"]] == [("USDC", "vUSDC"), ("DAI", None)]
    assert f["idle_stable_usd"] == "1500.00"
    assert f["vaults"] == [{"symbol": "vUSDC", "shares": "100", "underlying_symbol": "USDC",
                            "underlying_amount": "100", "usd": "100.00"}]
    assert f["nfts"] == [{"symbol": "DEVNFT", "name": "Dev NFT", "address": NFT, "count": 2, "ids": ["1", "3"]}]
    assert f["approvals_count"] == 3
    risky = {(r["symbol"], r["reason"], r["amount"]) for r in f["risky_approvals"]}
    assert risky == {("USDC", "unlimited", "unlimited"), ("DAI", "unknown spender", "5")}
    assert f["unreadable"] == [{"address": BAD, "symbol": "BAD", "reason": "decimals() reverted or ran out of gas"}]


def test_explanation_is_deterministic_and_states_the_facts():
    text = explain_holdings(_wallet())
    assert text == explain_holdings(_wallet())
    lines = text.splitlines()
    assert lines[0] == "Wallet 0xaaaa…aaaa on chain 31337 (block 42) holds 5 asset(s) worth $7,600.00 in all; no price for NOPOOL."
    assert "Largest position: 2 ETH ($6,000.00, 78.9% of the total)." in lines
    assert "Idle stablecoin: 1,000 USDC ($1,000.00) could earn yield in the vUSDC vault." in lines
    assert "Idle stablecoin: 500 DAI ($500.00) is not earning anything." in lines
    assert "Vault position: 100 vUSDC shares redeem for 100 USDC ($100.00)." in lines
    assert "NFTs: 2 DEVNFT (Dev NFT): #1, #3." in lines
    assert "Review: an unlimited USDC allowance to UniswapV2Router02; revoke it if you no longer use it." in lines
    assert f"Review: a 5 DAI allowance to unknown spender {STRANGER}; revoke it if you no longer use it." in lines
    assert "Allowance: 7 DAI to vUSDC vault." in lines
    assert "Could not read BAD at " + BAD + ": decimals() reverted or ran out of gas." in lines


def test_empty_wallet():
    h = Holdings(A, 31337, 7)
    h.rank()
    f = holdings_facts(h)
    assert f["empty"] and f["total_usd"] == "0.00" and f["concentration"] is None and f["top_holdings"] == []
    assert explain_holdings(h).startswith("Wallet 0xaaaa…aaaa holds nothing on chain 31337")
    assert chart_data(h) == []
    assert h.to_dict()["holdings"] == [] and h.to_dict()["total_usd"] == "0.00"


def test_chart_folds_the_tail_into_other():
    h = Holdings(A, 31337, 1)
    h.holdings = [_erc20(f"T{i}", 18, i + 1, Decimal(10)) for i in range(10)] + [_erc20("FREE", 18, 1, None)]
    h.rank()
    rows = chart_data(h)
    assert [r["asset"] for r in rows] == ["T9", "T8", "T7", "T6", "T5", "T4", "T3", "Other (3)"]
    assert rows[0] == {"asset": "T9", "usd": "100.00", "share": "0.1818"}
    assert rows[-1]["usd"] == "60.00"  # T2 + T1 + T0 = 30 + 20 + 10
    assert sum(Decimal(r["usd"]) for r in rows) == Decimal(550)


def test_json_shapes_use_strings_for_amounts():
    d = _wallet().to_dict()
    eth = d["holdings"][0]
    assert eth == {"symbol": "ETH", "name": "Ether", "address": "", "kind": "native", "decimals": 18,
                   "balance": str(2 * 10**18), "amount": "2", "usd_price": "3000", "usd_value": "6000.00",
                   "share": "0.7895", "underlying": None}
    assert d["approvals"][0]["allowance"] == str(MAX) and d["approvals"][0]["unlimited"] is True
    assert d["nfts"][0]["ids"] == ["1", "3"] and d["nfts"][0]["complete"] is True
    assert d["vault_for"] == {"USDC": "vUSDC"}
