"""Anchoring batches of turn digests in ConversationLog, crash-safe, and reconciling with the chain.

Two ways to anchor:
- the app's logger key (``anchor_pending``): a batch's transaction is signed with a fixed nonce
  and stored before it is broadcast, so a restart re-broadcasts the same bytes (same hash: the
  chain cannot take it twice) or finds it mined;
- the user's wallet (``wallet_anchor`` / ``wallet_anchor_tx`` then ``record_wallet_tx``): an
  unsigned transaction for one session's pending turns; the wallet signs and sends it.

``reconcile`` settles every open batch against the chain and detects anchors that a devnet
reset or a reorg dropped (the block hash at the recorded height changed and neither the tx nor
an ``Anchored`` event with the batch's root is found): those batches are anchored again with
the same leaves and root. A stored raw tx is only replaced once it can no longer be mined
(its nonce was used by another transaction, or lies beyond the account's next nonce after a
reset), so no batch is anchored twice by the logger.

One anchorer per store at a time: an exclusive file lock next to the database serialises
``anchor_pending``/``reconcile`` across threads and processes.
"""
from __future__ import annotations

import fcntl
import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from eth_account import Account
from web3 import Web3
from web3.exceptions import TimeExhausted, TransactionNotFound

from app._conversation_log import (
    ANCHORED_TOPIC,
    AnchoredLog,
    anchor_calldata,
    batch_id_from_calldata,
    batch_topic,
    decode_anchored,
)
from app.addresses import checksum
from app.chain import rpc_errors
from app.config import DEVNET_CHAIN_ID, Settings
from app.errors import AnchorFailed, ConfigError, NotFound
from app.store import Store

OPEN_WALLET = ("awaiting_wallet", "wallet_sent")


class Anchorer:
    """Anchors a store's pending turns at ``log_address`` on chain ``chain_id``."""

    def __init__(
        self,
        w3: Web3,
        store: Store,
        log_address: str,
        *,
        chain_id: int,
        private_key: str | None = None,
        max_leaves: int = 4096,
        receipt_timeout: float = 30.0,
        every_turns: int = 8,
        every_s: int = 60,
    ):
        self.w3 = w3
        self.store = store
        self.log_address = checksum(log_address)
        self.chain_id = int(chain_id)
        self.account = Account.from_key(private_key) if private_key else None
        self.max_leaves = max_leaves
        self.receipt_timeout = receipt_timeout
        self.every_turns = every_turns
        self.every_s = every_s
        self._lock_path = Path(str(store.path) + ".anchor.lock")

    @property
    def logger(self) -> str | None:
        return self.account.address if self.account else None

    # --- when ---------------------------------------------------------------------------------
    def due(self, now_ms: int | None = None) -> bool:
        """True when enough turns pend (``every_turns``) or the oldest has waited ``every_s`` seconds."""
        count, oldest = self.store.pending_stats()
        if count == 0:
            return False
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        return count >= self.every_turns or (now_ms - oldest) >= self.every_s * 1000

    # --- logger anchoring ----------------------------------------------------------------------
    def anchor_pending(self, session_id: str | None = None) -> list[dict]:
        """Reconcile, then batch every pending turn (one batch per session, at most ``max_leaves``
        leaves) and anchor it with the logger key. Returns the batches confirmed by this call."""
        if self.account is None:
            raise ConfigError(
                "No logger key for this chain: set CHATDAPP_LOGGER_KEY or CHATDAPP_LOGGER_KEYSTORE, "
                "or anchor with your wallet."
            )
        with self._exclusive():
            confirmed = self._reconcile()["confirmed"]
            sessions = [session_id] if session_id is not None else self.store.sessions_with_pending()
            head = self._head()
            for sid in sessions:
                while self.store.form_batch(
                    sid, mode="logger", anchorer=self.logger, chain_id=self.chain_id, contract=self.log_address,
                    from_block=head, max_leaves=self.max_leaves, status="formed",
                ):
                    pass
            for b in self._open("logger", ("formed",)):
                if session_id is None or b["session_id"] == session_id:
                    done = self._sign_and_send(b)
                    if done is not None:
                        confirmed.append(done)
        return confirmed

    def reconcile(self) -> dict:
        """Settle open batches with the chain; re-anchor what a reset/reorg dropped. Returns counts and batches."""
        with self._exclusive():
            out = self._reconcile()
            if self.account is not None:
                for b in self._open("logger", ("formed",)):
                    done = self._sign_and_send(b)
                    if done is not None:
                        out["confirmed"].append(done)
        return out

    def _reconcile(self) -> dict:
        out = _counts()
        self._check_confirmed(out)
        if self.account is not None:
            for b in sorted(self._open("logger", ("signed", "sent")), key=lambda b: b["nonce"]):
                self._settle_logger(b, out)
        for b in self._open("wallet", OPEN_WALLET):
            done = self._settle_wallet(b)
            if done is not None:
                out["confirmed"].append(done)
        return out

    def _open(self, mode: str, statuses: tuple[str, ...]) -> list[dict]:
        bs = self.store.batches(statuses=statuses, chain_id=self.chain_id, contract=self.log_address)
        if mode == "logger":
            return [b for b in bs if b["mode"] == "logger" and b["anchorer"] == self.logger]
        return [b for b in bs if b["mode"] == "wallet"]

    def _sign_and_send(self, b: dict) -> dict | None:
        with rpc_errors():
            nonce = self.w3.eth.get_transaction_count(self.logger, "pending")
            floor = self.store.next_nonce_floor(self.logger, self.chain_id)
            nonce = max(nonce, floor or 0)
            data = anchor_calldata(_b(b["root"]), _b(b["batch_id"]), b["leaf_count"])
            tx = {
                "chainId": self.chain_id, "nonce": nonce, "to": self.log_address, "value": 0, "data": data,
                **self._fees(), "gas": self._gas(self.logger, data),
            }
        signed = self.account.sign_transaction(tx)
        # Durable before broadcast: a crash from here on re-broadcasts these exact bytes.
        b = self.store.update_batch(b["batch_id"], expect=("formed",), status="signed", nonce=nonce,
                                    raw_tx=bytes(signed.raw_transaction), tx_hash=bytes(signed.hash))
        return self._broadcast_and_wait(b)

    def _broadcast_and_wait(self, b: dict) -> dict | None:
        raw = self.store.raw_tx(b["batch_id"])
        try:
            with rpc_errors():
                self.w3.eth.send_raw_transaction(raw)
        except Exception as e:  # "already known", "nonce too low", ...: the chain decides below
            if "known" not in str(e).lower():
                return self._settle_logger(self.store.batch(b["batch_id"]), _counts(), rebroadcast=False)
        b = self.store.update_batch(b["batch_id"], expect=("signed", "sent"), status="sent")
        try:
            with rpc_errors():
                rcpt = self.w3.eth.wait_for_transaction_receipt(_b(b["tx_hash"]), timeout=self.receipt_timeout, poll_latency=0.05)
        except TimeExhausted:
            return None  # still pending: reconcile later
        return self._confirm_from_receipt(b, rcpt)

    def _confirm_from_receipt(self, b: dict, rcpt) -> dict | None:
        ev = self._event_in(rcpt, b)
        if rcpt["status"] != 1 or ev is None:
            self.store.update_batch(b["batch_id"], status="failed")
            raise AnchorFailed(
                f"The anchor transaction 0x{bytes(rcpt['transactionHash']).hex()} for batch {b['batch_id']} "
                "was mined without an Anchored event (reverted?).",
                details={"batch_id": b["batch_id"]},
            )
        return self.store.update_batch(b["batch_id"], status="confirmed", tx_hash=bytes(ev.tx_hash),
                                       block_number=ev.block_number, block_hash=bytes(ev.block_hash), anchorer=ev.anchorer)

    def _settle_logger(self, b: dict, out: dict, *, rebroadcast: bool = True) -> dict | None:
        """A signed/sent logger batch whose fate is unknown (after a crash or a failed broadcast)."""
        rcpt = self._receipt(b["tx_hash"])
        if rcpt is not None:
            done = self._confirm_from_receipt(b, rcpt)
            out["confirmed"].append(done)
            return done
        ev = self._find_event(b)
        if ev is not None:
            done = self._adopt(b, ev)
            out["confirmed"].append(done)
            return done
        with rpc_errors():
            in_pool = self._known(b["tx_hash"])
            pending = self.w3.eth.get_transaction_count(self.logger, "pending")
            latest = self.w3.eth.get_transaction_count(self.logger, "latest")
        if in_pool:
            return None  # the node has it: it will be mined or replaced; look again later
        if b["nonce"] == pending and rebroadcast:
            out["rebroadcast"] += 1
            done = self._broadcast_and_wait(b)
            if done is not None:
                out["confirmed"].append(done)
            return done
        if b["nonce"] < latest or b["nonce"] > pending:
            # Its nonce went to another mined tx, or lies past a reset chain's next nonce: these
            # bytes can no longer be mined as they are, so sign the same batch afresh.
            out["reopened"] += 1
            self.store.reopen_batch(b["batch_id"], "formed")
        return None

    # --- wallet anchoring ------------------------------------------------------------------------
    def wallet_anchor(self, session_id: str, sender: str) -> dict:
        """Offer the session's pending turns as one batch for ``sender``'s wallet to anchor.
        Returns {"tx": eth_sendTransaction params, "batch_id", "root", "leaf_count"}."""
        sender = checksum(sender)
        with self._exclusive():
            for b in self._open("wallet", ("awaiting_wallet",)):
                if b["session_id"] != session_id:
                    continue
                if self._settle_wallet(b) is None:  # not on chain: withdraw it and offer a fresh batch
                    self.store.cancel_batch(b["batch_id"])
            b = self.store.form_batch(
                session_id, mode="wallet", anchorer=sender, chain_id=self.chain_id, contract=self.log_address,
                from_block=self._head(), max_leaves=self.max_leaves, status="awaiting_wallet",
            )
        if b is None:
            raise NotFound(f"Session {session_id} has no turns waiting to be anchored.")
        data = anchor_calldata(_b(b["root"]), _b(b["batch_id"]), b["leaf_count"])
        with rpc_errors():
            gas = self._gas(sender, data)
        tx = {"from": sender, "to": self.log_address, "data": "0x" + data.hex(), "value": "0x0",
              "chainId": hex(self.chain_id), "gas": hex(gas)}
        return {"tx": tx, "batch_id": b["batch_id"], "root": b["root"], "leaf_count": b["leaf_count"]}

    def wallet_anchor_tx(self, session_id: str, sender: str) -> dict:
        """The unsigned transaction (eth_sendTransaction params) anchoring the session's pending turns."""
        return self.wallet_anchor(session_id, sender)["tx"]

    def record_wallet_tx(self, tx_hash: str, batch_id: str | None = None) -> dict:
        """Record that the user's wallet sent ``tx_hash`` for a wallet batch (found from the calldata when
        ``batch_id`` is None), then settle it with the chain. Returns the batch."""
        if batch_id is None:
            with rpc_errors():
                tx = self.w3.eth.get_transaction(tx_hash)
            bid = batch_id_from_calldata(bytes(tx["input"]))
            if bid is None:
                raise NotFound(f"Transaction {tx_hash} is not a ConversationLog anchor.")
            batch_id = "0x" + bid.hex()
        b = self.store.update_batch(batch_id, expect=("awaiting_wallet", "wallet_sent"), status="wallet_sent", tx_hash=tx_hash)
        with self._exclusive():
            done = self._settle_wallet(b)
        return done or self.store.batch(batch_id)

    def cancel_wallet_anchor(self, batch_id: str) -> None:
        """Withdraw a wallet offer the user declined; its turns go back to pending."""
        with self._exclusive():
            b = self.store.batch(batch_id)
            if b["status"] == "awaiting_wallet" and self._settle_wallet(b) is None:
                self.store.cancel_batch(batch_id)

    def _settle_wallet(self, b: dict) -> dict | None:
        if b["tx_hash"]:
            rcpt = self._receipt(b["tx_hash"])
            if rcpt is not None:
                ev = self._event_in(rcpt, b)
                if ev is not None:
                    return self._adopt(b, ev)
                # Mined without our event (reverted, or another tx): the offer stands again.
                self.store.update_batch(b["batch_id"], status="awaiting_wallet", tx_hash=None)
                return None
        ev = self._find_event(b)
        return self._adopt(b, ev) if ev is not None else None

    # --- reorgs and resets -----------------------------------------------------------------------
    def _check_confirmed(self, out: dict) -> None:
        """Newest first: a confirmed batch whose block hash still matches proves every older one intact
        (block hashes chain), so this costs one lookup per dropped batch plus one."""
        done = sorted(self.store.batches(statuses=("confirmed",), chain_id=self.chain_id, contract=self.log_address),
                      key=lambda b: b["block_number"], reverse=True)
        if not done:
            return
        head = self._head()
        for b in done:
            if b["block_number"] <= head:
                with rpc_errors():
                    try:
                        blk = self.w3.eth.get_block(b["block_number"])
                    except Exception:
                        blk = None
                if blk is not None and bytes(blk["hash"]) == _b(b["block_hash"]):
                    return
            out["dropped"] += 1
            rcpt = self._receipt(b["tx_hash"])
            ev = self._event_in(rcpt, b) if rcpt is not None else None
            ev = ev or self._find_event(b)
            if ev is not None:
                self._adopt(b, ev)
            else:
                out["reopened"] += 1
                self.store.reopen_batch(b["batch_id"], "formed" if b["mode"] == "logger" else "awaiting_wallet")

    # --- chain helpers ---------------------------------------------------------------------------
    def _adopt(self, b: dict, ev: AnchoredLog) -> dict:
        return self.store.update_batch(b["batch_id"], status="confirmed", tx_hash=bytes(ev.tx_hash),
                                       block_number=ev.block_number, block_hash=bytes(ev.block_hash), anchorer=ev.anchorer)

    def _matches(self, ev: AnchoredLog | None, b: dict) -> bool:
        return (ev is not None and ev.contract == self.log_address and ev.batch_id == _b(b["batch_id"])
                and ev.root == _b(b["root"]) and ev.leaf_count == b["leaf_count"])

    def _event_in(self, rcpt, b: dict) -> AnchoredLog | None:
        if rcpt["status"] != 1:
            return None
        for log in rcpt["logs"]:
            ev = decode_anchored(log)
            if self._matches(ev, b):
                return ev
        return None

    def _find_event(self, b: dict) -> AnchoredLog | None:
        """The batch's Anchored event anywhere on chain (by contract and batch-id topic)."""
        head = self._head()
        with rpc_errors():
            logs = self.w3.eth.get_logs({
                "address": self.log_address, "fromBlock": min(b["from_block"], head), "toBlock": "latest",
                "topics": ["0x" + ANCHORED_TOPIC.hex(), None, batch_topic(_b(b["batch_id"]))],
            })
        for log in logs:
            ev = decode_anchored(log)
            if self._matches(ev, b):
                return ev
        return None

    def _receipt(self, tx_hash: str | None):
        if not tx_hash:
            return None
        with rpc_errors():
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                return None

    def _known(self, tx_hash: str) -> bool:
        try:
            self.w3.eth.get_transaction(tx_hash)
            return True
        except TransactionNotFound:
            return False

    def _head(self) -> int:
        with rpc_errors():
            return int(self.w3.eth.block_number)

    def _fees(self) -> dict:
        base = self.w3.eth.get_block("latest").get("baseFeePerGas", 0)
        tip = self.w3.eth.max_priority_fee
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def _gas(self, sender: str, data: bytes) -> int:
        est = self.w3.eth.estimate_gas({"from": sender, "to": self.log_address, "data": data})
        return est + est // 4  # headroom: a later block can price calldata or memory differently

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        fd = open(self._lock_path, "a+")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            fd.close()


def _b(v: str | bytes) -> bytes:
    return bytes.fromhex(v[2:]) if isinstance(v, str) else bytes(v)


def _counts() -> dict:
    return {"confirmed": [], "rebroadcast": 0, "reopened": 0, "dropped": 0}


# --- construction at the edge (CLI, page) -------------------------------------------------------
def store_path(settings: Settings) -> Path:
    return settings.home / "chatdapp.db"


def logger_key(settings: Settings, chain_id: int) -> str | None:
    """The logger key: CHATDAPP_LOGGER_KEY, else the keystore, else anvil's dev key on the devnet only."""
    if settings.logger_key is not None:
        return settings.logger_key.get_secret_value()
    if settings.logger_keystore is not None:
        if settings.logger_keystore_password is None:
            raise ConfigError("CHATDAPP_LOGGER_KEYSTORE is set but CHATDAPP_LOGGER_KEYSTORE_PASSWORD is not.")
        try:
            data = json.loads(Path(settings.logger_keystore).read_text())
            return "0x" + Account.decrypt(data, settings.logger_keystore_password.get_secret_value()).hex()
        except (OSError, ValueError) as e:
            raise ConfigError(f"Cannot open the logger keystore {settings.logger_keystore}: {e}") from e
    if chain_id == DEVNET_CHAIN_ID:
        from app.devnet import DEV_KEY

        return DEV_KEY
    return None


def log_address(settings: Settings, chain_id: int) -> str:
    """CHATDAPP_LOG_ADDRESS, else the devnet manifest's ConversationLog (devnet chain only)."""
    if settings.log_address:
        return checksum(settings.log_address)
    if chain_id == DEVNET_CHAIN_ID and settings.manifest_path.exists():
        return checksum(json.loads(settings.manifest_path.read_text())["contracts"]["ConversationLog"])
    raise ConfigError(
        f"No ConversationLog address for chain {chain_id}: set CHATDAPP_LOG_ADDRESS "
        "(or start the devnet with `chatdapp devnet up`)."
    )


def anchorer_from_settings(settings: Settings, w3: Web3, store: Store | None = None) -> Anchorer:
    with rpc_errors(settings.rpc_url):
        chain_id = int(w3.eth.chain_id)
    return Anchorer(
        w3, store or Store(store_path(settings)), log_address(settings, chain_id), chain_id=chain_id,
        private_key=logger_key(settings, chain_id), max_leaves=settings.anchor_max_leaves,
        every_turns=settings.anchor_every_turns, every_s=settings.anchor_every_s,
    )
