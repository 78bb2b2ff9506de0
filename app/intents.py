"""Intents: what the user asked for, as a typed value (pydantic discriminated union on ``kind``).

``parse_intent`` is the deterministic parser (no LLM). It refuses rather than guesses: anything it
cannot read with certainty raises NotUnderstood/Ambiguous or a specific input error. The grammar
lives in ``app._parse``; this module holds the types and the LLM-candidate validator.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, TypeAdapter, ValidationError

from app.addresses import checksum
from app.amounts import MAX_UINT256, format_units, to_base_units
from app.errors import Ambiguous, ChatdappError, InvalidAmount, NonPositiveAmount
from app.tokens import TokenRegistry

# Base-unit integers travel as decimal strings in JSON (JS numbers lose precision above 2**53).
BaseInt = Annotated[int, Field(ge=0, le=MAX_UINT256), PlainSerializer(lambda v: str(v), return_type=str)]
Address = Annotated[str, AfterValidator(checksum)]  # EIP-55 or InvalidAddress


class _Intent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")

    def summary(self, registry: TokenRegistry) -> str:  # pragma: no cover - overridden
        return self.kind


class NativeTransfer(_Intent):
    kind: Literal["native_transfer"] = "native_transfer"
    to: Address
    value_wei: BaseInt


    def summary(self, registry):
        return f"Send {format_units(self.value_wei, 18)} ETH to {self.to}"


class Erc20Transfer(_Intent):
    kind: Literal["erc20_transfer"] = "erc20_transfer"
    token: str
    to: Address
    amount_base: BaseInt


    def summary(self, registry):
        t = registry.by_symbol(self.token)
        return f"Send {format_units(self.amount_base, t.decimals)} {t.symbol} to {self.to}"


class Erc20Approve(_Intent):
    kind: Literal["erc20_approve"] = "erc20_approve"
    token: str
    spender: Address
    spender_label: str | None = None  # "ROUTER" / "VAULT" when named in words
    amount_base: BaseInt


    @property
    def unlimited(self) -> bool:
        return self.amount_base == MAX_UINT256

    def summary(self, registry):
        t = registry.by_symbol(self.token)
        amt = "an unlimited amount of" if self.unlimited else format_units(self.amount_base, t.decimals)
        return f"Allow {self.spender_label or self.spender} to spend {amt} {t.symbol}"


class Erc20Revoke(_Intent):
    kind: Literal["erc20_revoke"] = "erc20_revoke"
    token: str
    spender: Address
    spender_label: str | None = None


    def summary(self, registry):
        return f"Revoke {self.spender_label or self.spender}'s {self.token} allowance (set it to 0)"


class Wrap(_Intent):
    kind: Literal["wrap"] = "wrap"
    value_wei: BaseInt

    def summary(self, registry):
        return f"Wrap {format_units(self.value_wei, 18)} ETH into WETH"


class Unwrap(_Intent):
    kind: Literal["unwrap"] = "unwrap"
    amount_base: BaseInt

    def summary(self, registry):
        return f"Unwrap {format_units(self.amount_base, 18)} WETH into ETH"


class NftTransfer(_Intent):
    kind: Literal["nft_transfer"] = "nft_transfer"
    collection: str
    to: Address
    token_id: BaseInt


    def summary(self, registry):
        return f"Send {self.collection} #{self.token_id} to {self.to}"


class SwapExactIn(_Intent):
    kind: Literal["swap_exact_in"] = "swap_exact_in"
    token_in: str  # "ETH" for the native coin
    token_out: str
    amount_in_base: BaseInt
    slippage_bps: int | None = Field(default=None, ge=0, le=5000)

    def summary(self, registry):
        t = registry.by_symbol(self.token_in)
        return f"Swap {format_units(self.amount_in_base, t.decimals)} {t.symbol} for {registry.by_symbol(self.token_out).symbol}"


class VaultDeposit(_Intent):
    kind: Literal["vault_deposit"] = "vault_deposit"
    vault: str = "vUSDC"
    assets_base: BaseInt

    def summary(self, registry):
        return f"Deposit {format_units(self.assets_base, registry.by_symbol(self.vault).decimals)} of the asset into {self.vault}"


class VaultWithdraw(_Intent):
    kind: Literal["vault_withdraw"] = "vault_withdraw"
    vault: str = "vUSDC"
    assets_base: BaseInt

    def summary(self, registry):
        return f"Withdraw {format_units(self.assets_base, registry.by_symbol(self.vault).decimals)} of the asset from {self.vault}"


class ContractCall(_Intent):
    """Any function of a known ABI (resolved by the retrieval index or named by the user)."""

    kind: Literal["contract_call"] = "contract_call"
    to: Address
    function: str  # signature, e.g. "setApprovalForAll(address,bool)"
    args: list[Any] = Field(default_factory=list)
    value_wei: BaseInt = 0


    def summary(self, registry):
        return f"Call {self.function} on {self.to}"


Intent = Annotated[
    Union[NativeTransfer, Erc20Transfer, Erc20Approve, Erc20Revoke, Wrap, Unwrap, NftTransfer, SwapExactIn,
          VaultDeposit, VaultWithdraw, ContractCall],
    Field(discriminator="kind"),
]
INTENT_ADAPTER: TypeAdapter = TypeAdapter(Intent)
KINDS = ("native_transfer", "erc20_transfer", "erc20_approve", "erc20_revoke", "wrap", "unwrap", "nft_transfer",
         "swap_exact_in", "vault_deposit", "vault_withdraw", "contract_call")


def intent_from_dict(data: dict) -> Intent:
    """An Intent from its JSON form (``Intent.to_dict()``); schema errors become InvalidAmount/Ambiguous."""
    try:
        return INTENT_ADAPTER.validate_python(data)
    except ValidationError as e:
        raise Ambiguous(f"That request does not form a valid transaction: {e.errors()[0]['msg']}.") from e


def parse_intent(text: str, registry: TokenRegistry, manifest: dict, *, context: dict | None = None) -> Intent:
    """Plain English -> Intent, deterministically. Raises a ChatdappError subclass when unsure.

    ``context``: optional facts about the conversation; ``{"sender": "0x.."}`` lets "from 0x<sender>" name the
    user's own wallet instead of counting as a second address.
    """
    from app._parse import Parser

    return Parser(registry, manifest).parse(text, (context or {}).get("sender"))


# --- LLM candidates ------------------------------------------------------------------------------
# What a model is asked to produce: human amounts (the model never does decimal arithmetic).
CANDIDATE_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": [k for k in KINDS if k != "contract_call"] + ["unknown"]},
        "token": {"type": "string", "description": "token symbol as written by the user"},
        "token_in": {"type": "string"},
        "token_out": {"type": "string"},
        "amount": {"type": "string", "description": "the amount exactly as a decimal number, e.g. '0.5'"},
        "unlimited": {"type": "boolean"},
        "to": {"type": "string", "description": "recipient 0x address copied from the message"},
        "spender": {"type": "string", "description": "0x address, or ROUTER or VAULT"},
        "token_id": {"type": "string"},
    },
    "required": ["kind"],
}


def intent_from_candidate(text: str, candidate: dict, registry: TokenRegistry, manifest: dict) -> Intent:
    """Validate an LLM-proposed intent against the user's text; anything it cannot back up raises Ambiguous.

    Accepts either the candidate form (``CANDIDATE_SCHEMA``: human ``amount``) or the Intent form (base units).
    Checks: every address appears in the text, every symbol is mentioned, the amount (in that unit) is written
    in the text, and a verb of that kind is present.
    """
    from app._parse import Parser

    if not isinstance(candidate, dict) or candidate.get("kind") in (None, "unknown"):
        raise Ambiguous("I could not tell what transaction you want. Please say it with an amount, a token and a recipient.")
    kind = candidate["kind"]
    if kind not in KINDS or kind == "contract_call":
        raise Ambiguous(f"I can't draft a '{kind}' transaction from that message.")
    parser = Parser(registry, manifest)
    facts = parser.facts(text)  # addresses, amounts with units, token mentions, spender names, kind cues
    c = {k: v for k, v in candidate.items() if v not in (None, "")}

    def need_address(value: str) -> str:
        addr = checksum(str(value))
        if addr.lower() not in facts.addresses:
            raise Ambiguous(f"The address {addr} is not in your message; I won't use an address you didn't write.")
        return addr

    def need_symbol(sym: str) -> str:
        tok = registry.by_symbol(str(sym))
        if tok.symbol.upper() not in facts.symbols:
            raise Ambiguous(f"Your message does not mention {tok.symbol}.")
        return tok.symbol

    def need_amount(sym: str, base_key: str) -> int:
        tok = registry.by_symbol(sym)
        if "amount" in c:
            base = to_base_units(str(c["amount"]), tok.decimals, tok.symbol)
        elif base_key in c:
            base = int(str(c[base_key]))
        else:
            raise Ambiguous("How much? Your request needs an amount.")
        if base <= 0:
            raise NonPositiveAmount("The amount must be greater than zero.")
        if (tok.symbol.upper(), base) not in facts.amounts:
            raise Ambiguous(
                f"The amount {format_units(base, tok.decimals)} {tok.symbol} is not written in your message.")
        return base

    def need_spender() -> tuple[str, str | None]:
        sp = str(c.get("spender", ""))
        label = sp.upper() if sp.upper() in ("ROUTER", "VAULT") else None
        if label:
            if label not in facts.named:
                raise Ambiguous(f"Your message does not name the {label.lower()}.")
            return parser.named_address(label), label
        return need_address(sp), None

    if kind not in facts.cues:
        raise Ambiguous(f"Your message does not read like a {kind.replace('_', ' ')}.")
    try:
        if kind == "native_transfer":
            return NativeTransfer(to=need_address(c["to"]), value_wei=need_amount("ETH", "value_wei"))
        if kind == "erc20_transfer":
            sym = need_symbol(c["token"])
            if sym == "ETH":  # the model filed a native transfer under the token kind
                return NativeTransfer(to=need_address(c["to"]), value_wei=need_amount("ETH", "value_wei"))
            return Erc20Transfer(token=sym, to=need_address(c["to"]), amount_base=need_amount(sym, "amount_base"))
        token_sym = str(c.get("token", ""))
        if kind in ("erc20_approve", "erc20_revoke") and token_sym and registry.by_symbol(token_sym).is_native:
            raise Ambiguous("ETH has no allowances; did you mean WETH?")
        if kind == "erc20_approve":
            sym = need_symbol(c["token"])
            spender, label = need_spender()
            if c.get("unlimited") or str(c.get("amount_base", "")).upper() == "MAX":
                if not facts.unlimited:
                    raise Ambiguous("Your message does not ask for an unlimited allowance.")
                amount = MAX_UINT256
            else:
                amount = need_amount(sym, "amount_base")
            return Erc20Approve(token=sym, spender=spender, spender_label=label, amount_base=amount)
        if kind == "erc20_revoke":
            sym = need_symbol(c["token"])
            spender, label = need_spender()
            return Erc20Revoke(token=sym, spender=spender, spender_label=label)
        if kind == "wrap":
            return Wrap(value_wei=need_amount("ETH", "value_wei"))
        if kind == "unwrap":
            try:
                return Unwrap(amount_base=need_amount("WETH", "amount_base"))
            except Ambiguous:
                return Unwrap(amount_base=need_amount("ETH", "amount_base"))
        if kind == "nft_transfer":
            tid = int(str(c["token_id"]).lstrip("#"))
            if tid not in facts.nft_ids:
                raise Ambiguous(f"Your message does not mention token #{tid}.")
            return NftTransfer(collection=parser.nft_collection(), to=need_address(c["to"]), token_id=tid)
        if kind == "swap_exact_in":
            tin, tout = need_symbol(c["token_in"]), need_symbol(c["token_out"])
            if facts.addresses:
                raise Ambiguous("A swap sends its output to you; your message also has an address, so I won't guess.")
            return SwapExactIn(token_in=tin, token_out=tout, amount_in_base=need_amount(tin, "amount_in_base"))
        if kind in ("vault_deposit", "vault_withdraw"):
            vault = parser.vault_symbol()
            asset = parser.vault_asset(vault)
            need_symbol(asset)
            key = "assets_base"
            model = VaultDeposit if kind == "vault_deposit" else VaultWithdraw
            return model(vault=vault, assets_base=need_amount(asset, key))
    except KeyError as e:
        raise Ambiguous(f"The request is missing its {e.args[0]}.") from e
    except (ValueError, ValidationError) as e:
        if isinstance(e, ChatdappError):
            raise
        raise InvalidAmount(f"That request has a value I can't use: {e}") from e
    raise Ambiguous(f"I can't draft a '{kind}' transaction from that message.")  # pragma: no cover


_WS = re.compile(r"\s+")


def describe(intent: Intent, registry: TokenRegistry) -> str:
    return _WS.sub(" ", intent.summary(registry))


__all__ = [
    "Intent", "NativeTransfer", "Erc20Transfer", "Erc20Approve", "Erc20Revoke", "Wrap", "Unwrap", "NftTransfer",
    "SwapExactIn", "VaultDeposit", "VaultWithdraw", "ContractCall", "parse_intent", "intent_from_candidate",
    "intent_from_dict", "CANDIDATE_SCHEMA", "describe",
]
