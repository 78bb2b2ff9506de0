"""Two-way JSON-RPC bridge between the page (Python) and the browser wallet (EIP-1193 / EIP-6963).

Python queues requests ``{id, method, params}``; the inline component (``_wallet_bridge.js``) calls
the wallet and reports ``{wallet, responses}`` as its one state value. Each rerun the page takes
the answers to its pending ids, once. Tests simulate the browser by writing that state value.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, MutableMapping

import streamlit as st

from app.addresses import checksum
from app.errors import InvalidAddress

KEY = "wallet_bridge"  # the component's widget key: session_state[KEY] = {"bridge": {...}}
_QUEUE = "_bridge_queue"
_DONE = "_bridge_done"
_CHOICE = "_bridge_wallet_choice"
_DISCONNECTED = "_bridge_disconnected"

USER_REJECTED = 4001  # EIP-1193: the user said no in the wallet
UNRECOGNIZED_CHAIN = 4902  # wallet_switchEthereumChain: add the chain first

_component = st.components.v2.component(
    "chatdapp.wallet_bridge",
    js=(Path(__file__).with_name("_wallet_bridge.js")).read_text(),
)


@dataclass(frozen=True)
class Wallet:
    """What the browser reported: discovered wallets, the chosen one, its accounts and chain."""

    available: bool = False
    wallets: tuple[dict, ...] = ()
    selected: str | None = None
    name: str | None = None
    accounts: tuple[str, ...] = ()
    chain_id: int | None = None
    disconnected: bool = False

    @property
    def address(self) -> str | None:
        if self.disconnected or not self.accounts:
            return None
        try:
            return checksum(self.accounts[0])
        except InvalidAddress:
            return None


@dataclass(frozen=True)
class Response:
    id: str
    method: str
    purpose: str
    meta: dict = field(default_factory=dict)
    result: Any = None
    error: dict | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rejected(self) -> bool:
        return self.error is not None and self.error.get("code") == USER_REJECTED

    @property
    def error_code(self) -> int | None:
        return None if self.error is None else self.error.get("code")

    @property
    def error_message(self) -> str:
        return "" if self.error is None else str(self.error.get("message", ""))


def _parse_chain_id(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value, 16) if isinstance(value, str) and value.startswith("0x") else int(value)
    except (TypeError, ValueError):
        return None


class Bridge:
    """Session-scoped view of the bridge; ``state`` is st.session_state (a dict in unit tests)."""

    def __init__(self, state: MutableMapping[str, Any] | None = None):
        self.state = st.session_state if state is None else state
        self.state.setdefault(_QUEUE, {})
        self.state.setdefault(_DONE, [])

    # --- Python -> wallet -------------------------------------------------------------------
    def request(self, method: str, params: list | None = None, *, purpose: str, **meta: Any) -> str:
        rid = uuid.uuid4().hex
        self.state[_QUEUE][rid] = {"id": rid, "method": method, "params": params or [], "purpose": purpose, "meta": meta}
        return rid

    def pending(self, purpose: str | None = None) -> list[dict]:
        return [r for r in self.state[_QUEUE].values() if purpose is None or r["purpose"] == purpose]

    def cancel(self, rid: str) -> None:
        self.state[_QUEUE].pop(rid, None)

    def mount(self) -> None:
        """Render the (invisible) component with the requests still waiting for an answer."""
        requests = [{k: r[k] for k in ("id", "method", "params")} for r in self.state[_QUEUE].values()]
        _component(
            key=KEY,
            data={"wallet": self.state.get(_CHOICE), "requests": requests},
            on_bridge_change=_noop,
        )

    # --- wallet -> Python -------------------------------------------------------------------
    def _reported(self) -> dict:
        raw = self.state.get(KEY) or {}
        bridge = raw.get("bridge") if isinstance(raw, dict) else None
        return bridge if isinstance(bridge, dict) else {}

    def wallet(self) -> Wallet:
        w = self._reported().get("wallet") or {}
        return Wallet(
            available=bool(w.get("available")),
            wallets=tuple(x for x in w.get("wallets") or () if isinstance(x, dict)),
            selected=w.get("selected"),
            name=w.get("name"),
            accounts=tuple(a for a in w.get("accounts") or () if isinstance(a, str)),
            chain_id=_parse_chain_id(w.get("chainId")),
            disconnected=bool(self.state.get(_DISCONNECTED)),
        )

    def take_responses(self) -> list[Response]:
        """Answers to our pending requests, each returned exactly once (then forgotten)."""
        out = []
        answers = self._reported().get("responses") or {}
        done = self.state[_DONE]
        for rid, body in answers.items():
            req = self.state[_QUEUE].pop(rid, None)
            if req is None or rid in done or not isinstance(body, dict):
                continue
            done.append(rid)
            err = body.get("error")
            out.append(Response(
                id=rid, method=req["method"], purpose=req["purpose"], meta=req["meta"], result=body.get("result"),
                error={"code": err.get("code"), "message": err.get("message", "")} if isinstance(err, dict) else None,
            ))
        del done[:-50]  # the browser keeps its last 20 answers; remember a few more ids than that
        return out

    # --- wallet choice and connection ---------------------------------------------------------
    @property
    def choice(self) -> str | None:
        return self.state.get(_CHOICE)

    def choose(self, wallet_uuid: str | None) -> None:
        self.state[_CHOICE] = wallet_uuid

    def connect(self) -> str:
        self.state[_DISCONNECTED] = False
        return self.request("eth_requestAccounts", [], purpose="connect")

    def disconnect(self) -> None:
        """Forget the account here; also ask the wallet to drop its permission (not every wallet can)."""
        self.state[_DISCONNECTED] = True
        self.request("wallet_revokePermissions", [{"eth_accounts": {}}], purpose="disconnect")


def _noop() -> None:
    """Rerun is all a bridge report needs; the page reads the value at the top of each run."""
