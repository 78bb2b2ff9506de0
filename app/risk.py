"""Risk flags for a draft: stable codes, a severity (info/warn/danger) and one sentence a person understands.

``assess`` is a pure function of facts the drafter gathered from the chain, so every flag can be tested
with a case made for it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

from app.addresses import ZERO_ADDRESS

SEVERITIES = ("info", "warn", "danger")
# Price impact / slippage thresholds in basis points.
IMPACT_WARN_BPS, IMPACT_DANGER_BPS = 100, 500
SLIPPAGE_WARN_BPS = 100
LARGE_SHARE_WARN, LARGE_SHARE_DANGER = Decimal("0.5"), Decimal("0.9")


@dataclass(frozen=True)
class Risk:
    code: str
    severity: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RiskFacts:
    """What the drafter learned; fields left at their defaults raise no flag."""

    sender: str
    chain_id: int
    kind: str
    counterparty: str | None = None  # recipient or spender
    counterparty_role: str = "recipient"  # recipient | spender
    counterparty_has_code: bool = False
    counterparty_fresh: bool = False  # no nonce, no balance, no code on this chain
    counterparty_known: bool = True  # a contract from the manifest / known ABIs
    known_recipients: set[str] | None = None  # lower-case addresses the user sent to before (None: unknown)
    token_addresses: set[str] = field(default_factory=set)  # lower-case addresses of known token contracts
    amount: int | None = None  # base units leaving the wallet
    balance: int | None = None  # base units of that asset held before
    unlimited_approval: bool = False
    approval_for_all: bool = False
    simulation_success: bool | None = True
    simulation_error: str | None = None
    price_impact_bps: int | None = None
    slippage_bps: int | None = None
    wallet_chain_id: int | None = None
    unknown_function: bool = False
    target_known: bool = True


def assess(f: RiskFacts) -> list[Risk]:
    out: list[Risk] = []
    cp = (f.counterparty or "").lower()
    role = f.counterparty_role
    if f.wallet_chain_id is not None and f.wallet_chain_id != f.chain_id:
        out.append(Risk("chain_mismatch", "danger",
                        f"Your wallet is on chain {f.wallet_chain_id} but this draft is for chain {f.chain_id}."))
    if f.simulation_success is False:
        out.append(Risk("simulation_reverted", "danger",
                        f"The simulation reverted ({f.simulation_error or 'no reason given'}); sending it would fail and cost gas."))
    if f.unlimited_approval:
        out.append(Risk("unlimited_approval", "danger",
                        "This gives the spender an unlimited allowance: it could take every token of this kind you ever hold."))
    if f.approval_for_all:
        out.append(Risk("approval_for_all", "danger",
                        "setApprovalForAll lets the operator move every NFT in this collection you own, now and later."))
    if cp:
        if cp == ZERO_ADDRESS:
            out.append(Risk("recipient_zero_address", "danger",
                            f"The {role} is the zero address: anything sent there is lost for good."))
        elif cp in f.token_addresses and f.kind in ("erc20_transfer", "native_transfer", "nft_transfer"):
            out.append(Risk("recipient_is_token_contract", "danger",
                            "The recipient is a token contract itself; tokens sent there are usually lost."))
        elif cp == f.sender.lower():
            out.append(Risk("self_transfer", "info", "The recipient is your own address."))
        elif f.counterparty_has_code and f.kind in ("erc20_transfer", "native_transfer", "nft_transfer"):
            out.append(Risk("recipient_is_contract", "warn",
                            "The recipient is a contract, not a personal wallet; make sure it can handle what you send."))
        if f.counterparty_has_code is False and f.kind in ("erc20_approve",) and not f.counterparty_known:
            out.append(Risk("spender_not_contract", "warn",
                            "The spender is a plain wallet, not a contract; approvals normally go to contracts you use."))
        if f.kind in ("erc20_approve",) and f.counterparty_has_code and not f.counterparty_known:
            out.append(Risk("unknown_contract", "warn", "The spender is a contract this app does not know."))
        if cp != ZERO_ADDRESS and cp != f.sender.lower() and role == "recipient":
            if f.known_recipients is not None and cp not in f.known_recipients:
                out.append(Risk("first_time_recipient", "warn", "You have not sent anything to this address before."))
            elif f.known_recipients is None and f.counterparty_fresh:
                out.append(Risk("first_time_recipient", "warn",
                                "This address has never been used on this chain (no transactions, no balance)."))
    if not f.target_known:
        out.append(Risk("unknown_contract", "warn", "The transaction calls a contract this app has no ABI for."))
    if f.unknown_function:
        out.append(Risk("unknown_function", "danger", "The calldata uses a function no known ABI has; it cannot be explained."))
    if f.amount is not None and f.balance:
        share = Decimal(f.amount) / Decimal(f.balance)
        if share >= LARGE_SHARE_DANGER:
            out.append(Risk("large_share_of_holdings", "danger", f"This moves {share:.0%} of what you hold of this asset."))
        elif share >= LARGE_SHARE_WARN:
            out.append(Risk("large_share_of_holdings", "warn", f"This moves {share:.0%} of what you hold of this asset."))
    if f.price_impact_bps is not None:
        pct = Decimal(f.price_impact_bps) / 100
        if f.price_impact_bps >= IMPACT_DANGER_BPS:
            out.append(Risk("high_price_impact", "danger", f"The swap moves the pool price by about {pct}%: you get much less than the market rate."))
        elif f.price_impact_bps >= IMPACT_WARN_BPS:
            out.append(Risk("high_price_impact", "warn", f"The swap moves the pool price by about {pct}%."))
    if f.slippage_bps is not None and f.slippage_bps >= SLIPPAGE_WARN_BPS:
        out.append(Risk("high_slippage", "warn",
                        f"The slippage tolerance is {Decimal(f.slippage_bps) / 100}%: the swap may fill that much worse than quoted."))
    return out
