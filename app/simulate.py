"""Run drafted steps against current chain state without sending them.

Prefers ``eth_simulateV1`` (all steps in one simulated block, so a swap sees the approval before it;
``traceTransfers`` reports native ETH moves as synthetic Transfer logs). Nodes without it get
``eth_call`` + ``eth_estimateGas`` per step (no balance changes; steps after an approval cannot be run).
Balance changes are the sender's, from the logs: ERC-20/721 Transfer, WETH Deposit/Withdrawal, ETH moves.
They exclude the gas fee.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError

from app.addresses import checksum
from app.amounts import format_units
from app.chain import rpc_errors
from app.decode import AbiBook, decode_log, decode_revert
from app.tokens import TokenRegistry

_TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
_WETH_DEPOSIT = "0xe1fffcc4923d04b559f4d29a8bfc6cda04eb5b0d3c460751c2402c5c5cc9109c"
_WETH_WITHDRAWAL = "0x7fcf532c15f0a6db0bd6d0e038bea71d30d808c7d98cb3bf7268a95bf5081b65"
_NATIVE_PSEUDO = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"


@dataclass
class StepResult:
    success: bool
    gas_used: int
    error: str | None = None
    events: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"success": self.success, "gas_used": self.gas_used, "error": self.error, "events": self.events}


@dataclass
class Simulation:
    success: bool | None  # None: could not be simulated
    method: str  # eth_simulateV1 | eth_call | none
    gas_used: int = 0
    steps: list[StepResult] = field(default_factory=list)
    deltas: list[dict] = field(default_factory=list)
    error: str | None = None
    note: str | None = None

    def to_dict(self) -> dict:
        out = {"success": self.success, "method": self.method, "gas_used": self.gas_used, "deltas": self.deltas,
               "steps": [s.to_dict() for s in self.steps], "error": self.error}
        if self.note:
            out["note"] = self.note
        return out


def _int(x: Any) -> int:
    if isinstance(x, int):
        return x
    return int(str(x), 16) if str(x).startswith("0x") else int(x)


def _topic_addr(t: str) -> str:
    return "0x" + str(t)[-40:].lower()


class Simulator:
    def __init__(self, w3: Web3, registry: TokenRegistry, manifest: dict, book: AbiBook | None = None):
        self.w3 = w3
        self.registry = registry
        self.book = book or AbiBook.from_manifest(manifest)
        self.nfts = {checksum(n["address"]).lower(): name for name, n in manifest.get("nfts", {}).items()}
        weth = manifest.get("tokens", {}).get("WETH")
        self.weth = weth["address"].lower() if weth else None
        self._v1: bool | None = None  # eth_simulateV1 support, learned on first use

    def simulate(self, steps: list[dict], sender: str) -> Simulation:
        """``steps``: dicts with from/to/value/data (ints or hex). Never sends anything."""
        if self._v1 is not False:
            sim = self._simulate_v1(steps, sender)
            if sim is not None:
                return sim
        return self._simulate_call(steps, sender)

    # --- eth_simulateV1 ------------------------------------------------------------------------------
    def _simulate_v1(self, steps: list[dict], sender: str) -> Simulation | None:
        calls = [{"from": checksum(s["from"]), "to": checksum(s["to"]), "value": hex(_int(s.get("value", 0))),
                  "data": s.get("data") or "0x"} for s in steps]
        with rpc_errors():
            latest = self.w3.eth.get_block("latest")
        # A later timestamp, as the real block will have: Uniswap pairs then update their price accumulators,
        # which costs gas a same-timestamp simulation would not see.
        block = {"blockOverrides": {"time": hex(int(latest["timestamp"]) + 12)}, "calls": calls}
        payload = [{"blockStateCalls": [block], "traceTransfers": True, "validation": False}, "latest"]
        with rpc_errors():
            resp = self.w3.provider.make_request("eth_simulateV1", payload)
        if "error" in resp or not resp.get("result"):
            err = resp.get("error") or {}
            if err.get("code") == -32601 or "not" in str(err.get("message", "")).lower():
                self._v1 = False  # the node has no eth_simulateV1: don't ask again
            return None
        self._v1 = True
        results: list[StepResult] = []
        logs: list[dict] = []
        for call in resp["result"][0]["calls"]:
            ok = _int(call.get("status", "0x0")) == 1
            err = None
            if not ok:
                err = decode_revert(call.get("returnData"), self.book) or (call.get("error") or {}).get("message") or "reverted"
            events = [e for e in (decode_log(lg, self.book) for lg in call.get("logs", [])) if e]
            results.append(StepResult(ok, _int(call.get("gasUsed", 0)), err, events))
            if ok:
                logs += call.get("logs", [])
        success = all(r.success for r in results)
        first_err = next((f"step {i + 1}: {r.error}" for i, r in enumerate(results) if not r.success), None)
        return Simulation(success, "eth_simulateV1", sum(r.gas_used for r in results), results,
                          self._deltas(logs, sender) if success else [], first_err)

    # --- fallback ---------------------------------------------------------------------------------------
    def _simulate_call(self, steps: list[dict], sender: str) -> Simulation:
        results: list[StepResult] = []
        for i, s in enumerate(steps):
            if i > 0:
                return Simulation(None, "eth_call", sum(r.gas_used for r in results), results, [], None,
                                  "The node cannot simulate several steps in a row; only the first step was checked.")
            tx = {"from": checksum(s["from"]), "to": checksum(s["to"]), "value": _int(s.get("value", 0)),
                  "data": s.get("data") or "0x"}
            try:
                self.w3.eth.call(tx)
                gas = int(self.w3.eth.estimate_gas(tx))
                results.append(StepResult(True, gas))
            except (ContractLogicError, ContractCustomError) as e:
                reason = decode_revert(getattr(e, "data", None), self.book) if getattr(e, "data", None) else None
                results.append(StepResult(False, 0, reason or str(e)))
                return Simulation(False, "eth_call", 0, results, [], f"step {i + 1}: {results[-1].error}")
            except Web3RPCError as e:
                results.append(StepResult(False, 0, str(e)))
                return Simulation(False, "eth_call", 0, results, [], f"step {i + 1}: {e}")
        return Simulation(True, "eth_call", sum(r.gas_used for r in results), results, [],
                          note="Balance changes need eth_simulateV1, which this node does not offer.")

    # --- balance changes ----------------------------------------------------------------------------------
    def _deltas(self, logs: list[dict], sender: str) -> list[dict]:
        me = sender.lower()
        fungible: dict[str, int] = {}
        nft_moves: dict[str, dict[str, list[str]]] = {}
        for lg in logs:
            topics = [str(t).lower() for t in lg.get("topics", [])]
            if not topics:
                continue
            addr = str(lg["address"]).lower()
            data = str(lg.get("data") or "0x")
            if topics[0] == _TRANSFER and len(topics) == 3:
                amount = int(data, 16) if len(data) > 2 else 0
                frm, to = _topic_addr(topics[1]), _topic_addr(topics[2])
                key = "ETH" if addr == _NATIVE_PSEUDO else addr
                if frm == me:
                    fungible[key] = fungible.get(key, 0) - amount
                if to == me:
                    fungible[key] = fungible.get(key, 0) + amount
            elif topics[0] == _TRANSFER and len(topics) == 4:
                frm, to, tid = _topic_addr(topics[1]), _topic_addr(topics[2]), str(int(topics[3], 16))
                moves = nft_moves.setdefault(addr, {"in": [], "out": []})
                if frm == me:
                    moves["out"].append(tid)
                if to == me:
                    moves["in"].append(tid)
            elif addr == self.weth and topics[0] in (_WETH_DEPOSIT, _WETH_WITHDRAWAL) and len(topics) == 2:
                if _topic_addr(topics[1]) == me:
                    amount = int(data, 16)
                    sign = 1 if topics[0] == _WETH_DEPOSIT else -1
                    fungible[addr] = fungible.get(addr, 0) + sign * amount
        out: list[dict] = []
        for key, amount in fungible.items():
            if amount == 0:
                continue
            if key == "ETH":
                sym, dec, token = "ETH", 18, None
            else:
                tok = self.registry.by_address(key)
                sym, dec, token = (tok.symbol, tok.decimals, tok.address) if tok else (checksum(key), 0, checksum(key))
            out.append({"asset": sym, "kind": "native" if key == "ETH" else "erc20", "token": token,
                        "amount": str(amount), "formatted": ("+" if amount > 0 else "-") + format_units(abs(amount), dec)})
        for addr, moves in nft_moves.items():
            name = self.nfts.get(addr, checksum(addr))
            for direction, sign in (("in", "+"), ("out", "-")):
                for tid in moves[direction]:
                    out.append({"asset": name, "kind": "erc721", "token": checksum(addr), "token_id": tid,
                                "amount": ("1" if sign == "+" else "-1"), "formatted": f"{sign}{name} #{tid}"})
        return out
