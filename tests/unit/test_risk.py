"""Every risk flag, triggered by a case made for it (and absent from a plain case)."""
import pytest

from app.risk import RiskFacts, assess

pytestmark = pytest.mark.unit

ME = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TOKEN = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"


def codes(**kw):
    base = dict(sender=ME, chain_id=31337, kind="erc20_transfer", counterparty=A, token_addresses={TOKEN.lower()})
    base.update(kw)
    return {(r.code, r.severity) for r in assess(RiskFacts(**base))}


def test_plain_transfer_has_no_flags():
    assert codes(amount=10, balance=1000) == set()


@pytest.mark.parametrize("kw,flag", [
    (dict(kind="erc20_approve", counterparty_role="spender", unlimited_approval=True), ("unlimited_approval", "danger")),
    (dict(kind="contract_call", approval_for_all=True, counterparty_role="spender"), ("approval_for_all", "danger")),
    (dict(counterparty="0x0000000000000000000000000000000000000000"), ("recipient_zero_address", "danger")),
    (dict(counterparty=TOKEN), ("recipient_is_token_contract", "danger")),
    (dict(counterparty_has_code=True), ("recipient_is_contract", "warn")),
    (dict(counterparty=ME), ("self_transfer", "info")),
    (dict(counterparty_fresh=True), ("first_time_recipient", "warn")),
    (dict(known_recipients={"0x" + "11" * 20}), ("first_time_recipient", "warn")),
    (dict(amount=60, balance=100), ("large_share_of_holdings", "warn")),
    (dict(amount=95, balance=100), ("large_share_of_holdings", "danger")),
    (dict(simulation_success=False, simulation_error="ERC20InsufficientBalance"), ("simulation_reverted", "danger")),
    (dict(kind="swap_exact_in", counterparty=None, price_impact_bps=150), ("high_price_impact", "warn")),
    (dict(kind="swap_exact_in", counterparty=None, price_impact_bps=900), ("high_price_impact", "danger")),
    (dict(kind="swap_exact_in", counterparty=None, slippage_bps=200), ("high_slippage", "warn")),
    (dict(kind="contract_call", counterparty=None, target_known=False), ("unknown_contract", "warn")),
    (dict(kind="erc20_approve", counterparty_role="spender", counterparty_has_code=True, counterparty_known=False),
     ("unknown_contract", "warn")),
    (dict(kind="erc20_approve", counterparty_role="spender", counterparty_known=False), ("spender_not_contract", "warn")),
    (dict(kind="contract_call", counterparty=None, unknown_function=True), ("unknown_function", "danger")),
    (dict(wallet_chain_id=1), ("chain_mismatch", "danger")),
])
def test_each_flag(kw, flag):
    assert flag in codes(**kw)


def test_known_recipient_is_not_first_time():
    assert not {c for c, _ in codes(known_recipients={A.lower()}, counterparty_fresh=True)} & {"first_time_recipient"}


def test_messages_are_sentences():
    for r in assess(RiskFacts(sender=ME, chain_id=31337, kind="erc20_approve", counterparty=A, unlimited_approval=True,
                              wallet_chain_id=5, simulation_success=False)):
        assert r.message[0].isupper() and r.message.endswith(".") and r.severity in ("info", "warn", "danger")
