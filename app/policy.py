"""Policy: the user's own rules ($CHATDAPP_HOME/policy.toml) -> verdict ALLOW / WARN / BLOCK with reasons.

BLOCK means no face may offer the draft for signing (``Draft.sendable`` is False). Read with tomllib; written
with a tiny writer (the file only holds numbers, booleans, strings and lists of strings).
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from app.addresses import checksum
from app.errors import ConfigError, InvalidAddress
from app.risk import Risk

ALLOW, WARN, BLOCK = "ALLOW", "WARN", "BLOCK"
DEFAULT_BLOCK_RISKS = ("simulation_reverted", "chain_mismatch", "recipient_zero_address", "recipient_is_token_contract",
                       "unknown_function")


@dataclass
class Verdict:
    verdict: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "reasons": list(self.reasons)}


@dataclass
class Policy:
    max_tx_usd: Decimal | None = Decimal(25_000)
    max_daily_usd: Decimal | None = Decimal(100_000)
    max_slippage_bps: int = 300
    block_unlimited_approvals: bool = False
    allow: list[str] = field(default_factory=list)  # non-empty: only these counterparties
    deny: list[str] = field(default_factory=list)
    block_risks: list[str] = field(default_factory=lambda: list(DEFAULT_BLOCK_RISKS))
    ledger: Path | None = None  # where sent drafts' USD values are recorded (daily cap)

    @classmethod
    def default(cls) -> "Policy":
        return cls()

    @classmethod
    def load(cls, path: Path) -> "Policy":
        """The policy at ``path``; the defaults when the file does not exist. Bad files raise ConfigError."""
        path = Path(path)
        ledger = path.parent / "spend.jsonl"
        if not path.exists():
            return cls(ledger=ledger)
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"Cannot read the policy file {path}: {e}") from e
        known = {f.name for f in fields(cls)} - {"ledger"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"Unknown policy setting(s) in {path}: {', '.join(sorted(unknown))}.")
        try:
            kw: dict = {}
            for k in ("max_tx_usd", "max_daily_usd"):
                if k in data:
                    kw[k] = None if data[k] in (False, -1) else Decimal(str(data[k]))
            if "max_slippage_bps" in data:
                kw["max_slippage_bps"] = int(data["max_slippage_bps"])
            if "block_unlimited_approvals" in data:
                kw["block_unlimited_approvals"] = bool(data["block_unlimited_approvals"])
            for k in ("allow", "deny"):
                if k in data:
                    kw[k] = [checksum(a) for a in data[k]]
            if "block_risks" in data:
                kw["block_risks"] = [str(c) for c in data["block_risks"]]
        except (InvalidAddress, ValueError, TypeError, ArithmeticError) as e:
            raise ConfigError(f"Bad value in the policy file {path}: {getattr(e, 'message', e)}") from e
        return cls(ledger=ledger, **kw)

    def save(self, path: Path) -> None:
        lines = ["# chatdapp policy: checked before any draft can be signed. Caps in USD; -1 switches a cap off."]
        for f in fields(self):
            if f.name == "ledger":
                continue
            v = getattr(self, f.name)
            lines.append(f"{f.name} = {_toml(-1 if v is None else v)}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("\n".join(lines) + "\n")

    # --- daily spend ------------------------------------------------------------------------------
    def record_spend(self, usd: Decimal, when: datetime | None = None) -> None:
        """Called by a face after the user's wallet sent a draft, so the daily cap sees it."""
        if self.ledger is None:
            return
        when = when or datetime.now(timezone.utc)
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with self.ledger.open("a") as fh:
            fh.write(json.dumps({"day": when.date().isoformat(), "usd": str(usd)}) + "\n")

    def spent_today(self, today: datetime | None = None) -> Decimal:
        if self.ledger is None or not self.ledger.exists():
            return Decimal(0)
        day = (today or datetime.now(timezone.utc)).date().isoformat()
        total = Decimal(0)
        for line in self.ledger.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if row.get("day") == day:
                total += Decimal(str(row.get("usd", "0")))
        return total

    # --- the verdict ----------------------------------------------------------------------------------
    def evaluate(self, *, risks: list[Risk], usd_value: Decimal | None, counterparty: str | None = None,
                 slippage_bps: int | None = None, unlimited_approval: bool = False,
                 spent_today_usd: Decimal | None = None) -> Verdict:
        block: list[str] = []
        warn: list[str] = []
        if usd_value is not None:
            if self.max_tx_usd is not None and usd_value > self.max_tx_usd:
                block.append(f"${usd_value:,.2f} is over your per-transaction cap of ${self.max_tx_usd:,.2f}.")
            spent = spent_today_usd if spent_today_usd is not None else self.spent_today()
            if self.max_daily_usd is not None and spent + usd_value > self.max_daily_usd:
                block.append(f"With ${spent:,.2f} already sent today this would pass your daily cap of ${self.max_daily_usd:,.2f}.")
        elif self.max_tx_usd is not None and not unlimited_approval:
            warn.append("I could not price this in USD, so the USD caps were not checked.")
        if counterparty:
            cp = counterparty.lower()
            if cp in {a.lower() for a in self.deny}:
                block.append(f"{checksum(counterparty)} is on your deny list.")
            if self.allow and cp not in {a.lower() for a in self.allow}:
                block.append(f"{checksum(counterparty)} is not on your allow list.")
        if slippage_bps is not None and slippage_bps > self.max_slippage_bps:
            block.append(f"Slippage {Decimal(slippage_bps) / 100}% is above your maximum of {Decimal(self.max_slippage_bps) / 100}%.")
        if unlimited_approval and self.block_unlimited_approvals:
            block.append("Your policy blocks unlimited approvals.")
        for r in risks:
            if r.code in self.block_risks:
                block.append(r.message)
            elif r.severity in ("warn", "danger"):
                warn.append(r.message)
        if block:
            return Verdict(BLOCK, block + warn)
        return Verdict(WARN if warn else ALLOW, warn)


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, Decimal)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string
