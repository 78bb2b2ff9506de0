"""LLM intent fallback: JSON-schema constrained extraction into the intent candidate shape.

The model only proposes; the drafts service (intent_from_candidate) accepts a candidate only when
the text supports every address, symbol, amount and verb in it. Here we additionally drop fields the
model may not invent (an address that is not in the message) before anything else sees them.
"""
from __future__ import annotations

import json
from typing import Callable

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from agents._prompts import EXTRACT_SYSTEM
from app.config import Settings

KINDS = ["native_transfer", "erc20_transfer", "erc20_approve", "erc20_revoke", "wrap", "unwrap", "nft_transfer",
         "swap_exact_in", "vault_deposit", "vault_withdraw", "unknown"]
# The fields each kind may carry; anything else the model filled in is noise and dropped.
_FIELDS = {
    "native_transfer": ("amount", "to"), "erc20_transfer": ("amount", "token", "to"),
    "erc20_approve": ("amount", "token", "spender"), "erc20_revoke": ("token", "spender"),
    "wrap": ("amount",), "unwrap": ("amount",), "nft_transfer": ("token", "token_id", "to"),
    "swap_exact_in": ("amount", "token", "token_out"), "vault_deposit": ("amount",), "vault_withdraw": ("amount",),
}
_ADDR = r"^0x[0-9a-fA-F]{40}$"
_AMOUNT = r"^([0-9]{1,15}([.][0-9]{1,18})?|max)$"


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def intent_schema(symbols: list[str] | None = None) -> dict:
    """Flat and short on purpose: a small model fills a flat object far more reliably than a union."""
    sym = {"type": "string", "enum": sorted(set(symbols))} if symbols else {"type": "string", "maxLength": 12}
    return {
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": KINDS},
            "amount": _nullable({"type": "string", "pattern": _AMOUNT}),
            "token": _nullable(sym),
            "to": _nullable({"type": "string", "pattern": _ADDR}),
            "spender": _nullable({"type": "string", "pattern": r"^(ROUTER|VAULT|0x[0-9a-fA-F]{40})$"}),
            "token_out": _nullable(sym),
            "token_id": _nullable({"type": "string", "pattern": r"^[0-9]{1,10}$"}),
        },
        "required": ["kind", "amount", "token", "to", "spender", "token_out", "token_id"],
    }


def json_call(llm: BaseChatModel, messages: list, schema: dict, *, max_tokens: int = 120) -> str:
    """One completion constrained to ``schema`` where the backend can enforce it."""
    from agents.llm import LlamaCppChat

    if isinstance(llm, LlamaCppChat):
        out = llm.invoke(messages, response_format={"type": "json_object", "schema": schema}, max_tokens=max_tokens)
    elif type(llm).__name__ == "ChatOpenAI":
        out = llm.invoke(messages, response_format={"type": "json_schema", "json_schema": {
            "name": "intent", "schema": schema}}, max_tokens=max_tokens)
    else:
        out = llm.invoke(messages + [HumanMessage("Answer with one JSON object only.")], response_format=schema,
                         max_tokens=max_tokens)
    return str(out.content)


def _first_json(text: str) -> dict | None:
    start = text.find("{")
    while start != -1:
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[start:])
            return obj if isinstance(obj, dict) else None
        except ValueError:
            start = text.find("{", start + 1)
    return None


def to_candidate(raw: dict, text: str) -> dict | None:
    """Map the flat model output onto the intent candidate dict; None when the model says unknown.

    Addresses the message does not contain are dropped (DESIGN.md: the model invents recipients).
    """
    kind = raw.get("kind")
    if kind not in KINDS or kind == "unknown":
        return None
    lowered = text.lower()
    cand: dict = {"kind": kind}
    for key in _FIELDS[kind]:
        v = raw.get(key)
        if v in (None, ""):
            continue
        v = str(v).strip()
        if v.startswith("0x") and v.lower() not in lowered:
            continue
        cand[key] = v
    if str(cand.get("amount", "")).lower() == "max":  # the drafts validator's form of "unlimited"
        cand.pop("amount")
        cand["unlimited"] = True
    if kind == "swap_exact_in" and "token" in cand:
        cand["token_in"] = cand.pop("token")
    if kind == "nft_transfer" and "token" in cand:
        cand["collection"] = cand.pop("token")
    return cand


def extract(llm: BaseChatModel, text: str, symbols: list[str] | None = None) -> dict | None:
    messages = [SystemMessage(EXTRACT_SYSTEM), HumanMessage(text.strip()[:500])]
    raw = _first_json(json_call(llm, messages, intent_schema(symbols)))
    return to_candidate(raw, text) if raw else None


def make_extractor(settings: Settings, llm: BaseChatModel | None = None,
                   symbols: list[str] | None = None) -> Callable[[str], dict | None]:
    """The fallback `chatdapp draft` and the chat turn pass to the drafts service.

    The model loads on first use, so a request the parser understands never pays for it.
    """
    state: dict = {"llm": llm}
    syms = symbols or ["ETH", "WETH", "USDC", "DAI", "WBTC", "LINK", "DEVNFT", "vUSDC"]

    def extractor(text: str) -> dict | None:
        if state["llm"] is None:
            from agents.llm import make_llm

            state["llm"] = make_llm(settings)
        return extract(state["llm"], text, syms)

    return extractor

