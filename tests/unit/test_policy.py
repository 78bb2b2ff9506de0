"""Policy verdicts for caps, lists, slippage, unlimited approvals and blocking risks; the TOML file round trip."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from app.errors import ConfigError
from app.policy import ALLOW, BLOCK, WARN, Policy
from app.risk import Risk

pytestmark = pytest.mark.unit

A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def verdict(policy, **kw):
    base = dict(risks=[], usd_value=Decimal(100), counterparty=A, spent_today_usd=Decimal(0))
    base.update(kw)
    return policy.evaluate(**base)


def test_allow_when_nothing_is_wrong():
    v = verdict(Policy.default())
    assert (v.verdict, v.reasons) == (ALLOW, [])


def test_per_transaction_and_daily_caps():
    p = Policy(max_tx_usd=Decimal(1000), max_daily_usd=Decimal(1500))
    assert verdict(p, usd_value=Decimal(1000)).verdict == ALLOW
    assert verdict(p, usd_value=Decimal("1000.01")).verdict == BLOCK
    v = verdict(p, usd_value=Decimal(600), spent_today_usd=Decimal(1000))
    assert v.verdict == BLOCK and "daily cap" in v.reasons[0]


def test_daily_cap_reads_the_spend_ledger(tmp_path):
    p = Policy.load(tmp_path / "policy.toml")
    p.max_daily_usd = Decimal(500)
    p.record_spend(Decimal(400))
    p.record_spend(Decimal(400), datetime(2020, 1, 1, tzinfo=timezone.utc))  # another day does not count
    assert p.spent_today() == Decimal(400)
    assert p.evaluate(risks=[], usd_value=Decimal(150), counterparty=A).verdict == BLOCK
    assert p.evaluate(risks=[], usd_value=Decimal(50), counterparty=A).verdict == ALLOW


def test_allow_and_deny_lists():
    assert verdict(Policy(deny=[A])).verdict == BLOCK
    assert verdict(Policy(allow=["0x" + "22" * 20])).verdict == BLOCK
    assert verdict(Policy(allow=[A])).verdict == ALLOW


def test_slippage_unlimited_and_risks():
    assert verdict(Policy(max_slippage_bps=100), slippage_bps=150).verdict == BLOCK
    assert verdict(Policy(block_unlimited_approvals=True), unlimited_approval=True, usd_value=None).verdict == BLOCK
    assert verdict(Policy(), unlimited_approval=True, usd_value=None).verdict == ALLOW
    warn = Risk("recipient_is_contract", "warn", "The recipient is a contract.")
    v = verdict(Policy(), risks=[warn])
    assert (v.verdict, v.reasons) == (WARN, ["The recipient is a contract."])
    assert verdict(Policy(), risks=[Risk("simulation_reverted", "danger", "It reverts.")]).verdict == BLOCK
    assert verdict(Policy(), usd_value=None).verdict == WARN  # unpriced: caps could not be checked


def test_toml_round_trip_and_errors(tmp_path):
    path = tmp_path / "policy.toml"
    p = Policy(max_tx_usd=Decimal("250.5"), max_daily_usd=None, max_slippage_bps=75, block_unlimited_approvals=True,
               allow=[A], deny=["0x" + "33" * 20], block_risks=["chain_mismatch"])
    p.save(path)
    q = Policy.load(path)
    assert (q.max_tx_usd, q.max_daily_usd, q.max_slippage_bps, q.block_unlimited_approvals) == (Decimal("250.5"), None, 75, True)
    assert q.allow == [A] and q.deny == ["0x" + "33" * 20] and q.block_risks == ["chain_mismatch"]
    assert Policy.load(tmp_path / "missing.toml").max_tx_usd == Policy.default().max_tx_usd
    path.write_text("max_tx_usd = [oops")
    with pytest.raises(ConfigError):
        Policy.load(path)
    path.write_text("max_usd = 5\n")
    with pytest.raises(ConfigError):
        Policy.load(path)
    path.write_text('deny = ["0x1234"]\n')
    with pytest.raises(ConfigError):
        Policy.load(path)
