"""The services the assistant uses, and plain Python tools over them.

`Services` holds one callable per capability, so the chat turn and the tools run the same code
whether the collaborators are the real app services (`Services.from_settings`) or test fakes.
Each tool takes a pydantic argument model and returns readable text; bad input comes back as
"Error (code): message" instead of an exception, so an agent can read it and recover.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel, Field, ValidationError

from app.config import Settings
from app.errors import ChatdappError, ConfigError


@dataclass
class Services:
    """holdings(addr) -> (facts, text); draft(text, sender, extractor) -> draft dict;
    search(query, k) -> list of hit dicts; record(session_id, role, text, **kw) -> turn dict;
    decode(to, data, value) -> dict; tx(hash) -> dict; anchor() -> list; verify(receipt) -> dict.
    A capability that is not configured is None; tools and turns say so instead of failing."""

    holdings: Callable[[str], tuple[dict, str]] | None = None
    draft: Callable[..., dict] | None = None
    search: Callable[[str, int], list[dict]] | None = None
    record: Callable[..., dict] | None = None
    decode: Callable[[str, str, int], dict] | None = None
    tx: Callable[[str], dict] | None = None
    anchor: Callable[[], list] | None = None
    verify: Callable[[dict], dict] | None = None
    symbols: tuple[str, ...] = ("ETH", "WETH", "USDC", "DAI", "WBTC", "LINK")

    @classmethod
    def from_settings(cls, settings: Settings) -> "Services":
        """Wire the real services at the edge (CLI, page, API). Chain-less capabilities still work
        when the RPC is down; the chain ones raise RpcUnavailable when called."""
        from app.anchor import store_path
        from app.chain import make_web3
        from app.store import Store
        from app.tokens import TokenRegistry

        store = Store(store_path(settings))
        w3 = make_web3(settings.rpc_url, timeout=settings.rpc_timeout, retries=settings.rpc_retries)
        manifest = json.loads(settings.manifest_path.read_text()) if settings.manifest_path.exists() else None
        registry = TokenRegistry.from_manifest(manifest) if manifest else None
        svc = cls(record=store.record_turn)
        if registry is not None:
            svc.symbols = tuple(["ETH"] + [t.symbol for t in registry.erc20s()])
        _wire_holdings(svc, w3, registry, manifest)
        _wire_drafts(svc, w3, registry, manifest, settings)
        _wire_index(svc, settings)
        _wire_digests(svc, settings, w3, store)
        return svc


def _wire_holdings(svc: Services, w3, registry, manifest) -> None:
    if manifest is None:
        return
    from app.holdings import HoldingsReader, explain_holdings, holdings_facts

    reader = HoldingsReader(w3, registry, manifest)

    def holdings(address: str) -> tuple[dict, str]:
        h = reader.read(address)
        return holdings_facts(h), explain_holdings(h)

    svc.holdings = holdings


def _wire_drafts(svc: Services, w3, registry, manifest, settings: Settings) -> None:
    if manifest is None:
        return
    from app.decode import AbiBook, decode_call
    from app.drafts import Drafter, draft_text
    from app.policy import Policy

    book = AbiBook.from_manifest(manifest)
    # The same policy file `chatdapp draft` and the page use.
    drafter = Drafter(w3, registry, manifest, Policy.load(settings.home / "policy.toml"),
                      slippage_bps=settings.slippage_bps, book=book)

    def draft(text: str, sender: str, extractor=None) -> dict:
        return draft_text(drafter, text, sender, extractor=extractor).to_dict()

    def tx(h: str) -> dict:
        from app.chain import rpc_errors

        with rpc_errors(settings.rpc_url):
            t = w3.eth.get_transaction(h)
        return {"hash": h, "from": t["from"], **decode_call(t["to"], bytes(t["input"]), int(t["value"]), book)}

    svc.draft = draft
    svc.decode = lambda to, data, value: decode_call(to, data, value, book)
    svc.tx = tx


def _wire_index(svc: Services, settings: Settings) -> None:
    from index import default_index

    state: dict = {}

    def search(query: str, k: int = 5) -> list[dict]:
        if "idx" not in state:  # built (or opened) on first question only
            state["idx"] = default_index(settings.home)
        return [h.to_dict() | {"citation": h.citation()} for h in state["idx"].search(query, k=k)]

    svc.search = search


def _wire_digests(svc: Services, settings: Settings, w3, store) -> None:
    from app.anchor import anchorer_from_settings
    from app.receipts import verify_receipt

    svc.anchor = lambda: anchorer_from_settings(settings, w3, store).anchor_pending()
    svc.verify = lambda receipt: verify_receipt(receipt, w3)


# --- the tools --------------------------------------------------------------------------------------
def error_text(e: Exception) -> str:
    if isinstance(e, ChatdappError):
        return f"Error ({e.code}): {e.message}"
    if isinstance(e, ValidationError):
        first = e.errors()[0]
        return f"Error (invalid_input): {'.'.join(str(x) for x in first['loc'])}: {first['msg']}"
    return f"Error (internal): {type(e).__name__}: {e}"


def _need(fn, what: str):
    if fn is None:
        raise ConfigError(f"{what} is not available in this setup.")
    return fn


class HoldingsArgs(BaseModel):
    address: str = Field(description="The wallet address (0x + 40 hex digits).")


class SearchArgs(BaseModel):
    query: str = Field(min_length=2, description="A question or keywords about a contract function, event or error.")
    k: int = Field(default=5, ge=1, le=20, description="How many passages to return.")


class DraftArgs(BaseModel):
    request: str = Field(min_length=3, description="The user's own words asking for a transaction.")
    sender: str = Field(description="The address that will sign (0x + 40 hex digits).")


class ExplainArgs(BaseModel):
    tx_hash: str | None = Field(default=None, description="A transaction hash to look up and decode.")
    to: str | None = Field(default=None, description="Target contract address (with data).")
    data: str | None = Field(default=None, description="Calldata, 0x-prefixed hex.")
    value: int = Field(default=0, ge=0, description="Wei sent with the call.")


class AnchorArgs(BaseModel):
    pass


class VerifyArgs(BaseModel):
    receipt: str = Field(description="A receipt as JSON text (from `chatdapp receipt`).")


def _plain(o: Any):
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if isinstance(o, bytes):
        return "0x" + o.hex()
    return str(o)  # Decimal, Path


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=_plain, indent=1)


def get_holdings(svc: Services, args: HoldingsArgs) -> str:
    from app.addresses import checksum

    facts, text = _need(svc.holdings, "Reading holdings")(checksum(args.address))
    return text + "\n\nFacts: " + _dumps(facts)


def search_contract_docs(svc: Services, args: SearchArgs) -> str:
    hits = _need(svc.search, "Contract search")(args.query, args.k)
    if not hits:
        return "No passages found."
    return "\n\n".join(f"[{i}] {h['citation']}\n{h.get('text', '')[:600]}" for i, h in enumerate(hits, 1))


def draft_transaction(svc: Services, args: DraftArgs) -> str:
    from app.addresses import checksum

    draft = _need(svc.draft, "Drafting")(args.request, checksum(args.sender), None)
    return "Unsigned draft (review and sign it in your wallet):\n" + _dumps(draft)


def explain_transaction(svc: Services, args: ExplainArgs) -> str:
    from app.errors import InputError

    if args.tx_hash:
        return _dumps(_need(svc.tx, "Transaction lookup")(args.tx_hash))
    if args.to and args.data:
        from app.addresses import checksum

        return _dumps(_need(svc.decode, "Calldata decoding")(checksum(args.to), args.data, args.value))
    raise InputError("Give a tx_hash, or to + data.")


def anchor_conversation(svc: Services, args: AnchorArgs) -> str:
    batches = _need(svc.anchor, "Anchoring")()
    return f"Anchored {len(batches)} batch(es).\n" + _dumps(batches) if batches else "Nothing pending to anchor."


def verify_receipt(svc: Services, args: VerifyArgs) -> str:
    from app.errors import InputError

    try:
        receipt = json.loads(args.receipt)
    except ValueError as e:
        raise InputError(f"The receipt is not JSON: {e}") from e
    return _dumps(_need(svc.verify, "Receipt verification")(receipt))


TOOLS: dict[str, tuple[type[BaseModel], Callable[[Services, Any], str], str]] = {
    "get_holdings": (HoldingsArgs, get_holdings, "What a wallet holds: tokens, USD values, vaults, NFTs, risky approvals."),
    "search_contract_docs": (SearchArgs, search_contract_docs,
                             "Search contract ABIs, NatSpec and docs; returns numbered passages with citations."),
    "draft_transaction": (DraftArgs, draft_transaction,
                          "Draft an UNSIGNED transaction from the user's own request (simulated, risk-checked)."),
    "explain_transaction": (ExplainArgs, explain_transaction, "Decode calldata (to + data) or a transaction hash."),
    "anchor_conversation": (AnchorArgs, anchor_conversation, "Anchor pending conversation digests on chain."),
    "verify_receipt": (VerifyArgs, verify_receipt, "Verify a conversation receipt against the chain."),
}


def call_tool(svc: Services, name: str, raw_args: dict | None) -> str:
    """Validate ``raw_args`` with the tool's schema and run it; every failure comes back as text."""
    if name not in TOOLS:
        return f"Error (unknown_tool): no tool named {name!r}; tools: {', '.join(TOOLS)}."
    schema, fn, _ = TOOLS[name]
    try:
        return fn(svc, schema.model_validate(raw_args or {}))
    except Exception as e:  # a tool must answer (readable), not crash the calling agent
        return error_text(e)
