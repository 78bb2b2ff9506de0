"""Grounding guard: every number, address and token symbol in model-written text must come from this
turn's facts. Sentences that carry anything else are dropped; the caller falls back to its
deterministic wording where nothing survives.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Iterable, Iterator

_ADDR = re.compile(r"0x[0-9a-fA-F]{40}\b")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_NUM = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
_CITE = re.compile(r"\[(\d{1,2})\]")
# All-caps words that are ordinary English or units, not token symbols.
_WORDS = {"I", "A", "OK", "USD", "NFT", "NFTS", "ERC", "EVM", "ABI", "ID", "IDS", "API", "TX", "AM", "PM", "DEX",
          "FAQ", "AMM", "EOA", "NOT", "AND", "OR", "THE", "NO", "YES", "NOTE"}
_SYMBOLISH = re.compile(r"(?<![\w$])(?:[A-Z][A-Z0-9]{1,9}|[a-z][A-Z]{2,9})(?![\w])")
# Standard names that contain digits but are not figures (ERC-20, EIP-712, Uniswap V2).
_NAMES = re.compile(r"\b(?:ERC|EIP)-?\d+\b|\bV[1-4]\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _dec(s: str) -> Decimal | None:
    try:
        return Decimal(s.replace(",", ""))
    except InvalidOperation:
        return None


def _variants(d: Decimal) -> set[Decimal]:
    """A fact may be quoted rounded (30,000.123 -> 30,000 or 30,000.12) or as a percentage share."""
    out = {d.normalize()}
    for q in ("1", "0.1", "0.01"):
        out.add(d.quantize(Decimal(q), rounding=ROUND_HALF_UP).normalize())
    if 0 < d <= 1:
        out.add((d * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP).normalize())
        out.add((d * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP).normalize())
    return out


def _strings(facts: Any) -> Iterator[str]:
    if isinstance(facts, dict):
        for k, v in facts.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(facts, (list, tuple, set)):
        for v in facts:
            yield from _strings(v)
    elif facts is not None:
        yield str(facts)


@dataclass
class Allowed:
    numbers: set[Decimal] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)
    symbols: set[str] = field(default_factory=set)
    citations: int = 0


def allowed_from(facts: Any, *, citations: int = 0) -> Allowed:
    a = Allowed(citations=citations)
    for s in _strings(facts):
        for m in _ADDR.findall(s):
            a.addresses.add(m.lower())
        for m in _NUM.findall(_HEX.sub(" ", s)):
            d = _dec(m)
            if d is not None:
                a.numbers |= _variants(d)
        for m in _SYMBOLISH.findall(s):
            a.symbols.add(m.upper())
    return a


def claims(text: str) -> list[tuple[str, str]]:
    """(kind, raw) for every number, address, hex blob, symbol and citation mark in ``text``."""
    out: list[tuple[str, str]] = [("citation", m) for m in _CITE.findall(text)]
    rest = _NAMES.sub(" ", _CITE.sub(" ", text))
    for m in _HEX.findall(rest):
        out.append(("address" if _ADDR.fullmatch(m) else "hex", m))
    rest = _HEX.sub(" ", rest)
    out += [("number", m) for m in _NUM.findall(rest)]
    out += [("symbol", m) for m in _SYMBOLISH.findall(rest) if m.upper() not in _WORDS]
    return out


def unsupported(text: str, allowed: Allowed) -> list[str]:
    bad = []
    for kind, raw in claims(text):
        if kind == "citation":
            ok = 1 <= int(raw) <= allowed.citations
        elif kind == "address":
            ok = raw.lower() in allowed.addresses
        elif kind == "hex":
            ok = False
        elif kind == "number":
            d = _dec(raw)
            ok = d is not None and d.normalize() in allowed.numbers
        else:
            ok = raw.upper() in allowed.symbols
        if not ok:
            bad.append(raw)
    return bad


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text.strip()) if s]


def guard_text(text: str, allowed: Allowed) -> tuple[str, list[str]]:
    """Keep the sentences whose every claim is supported; return (kept text, rejected claims)."""
    kept, rejected = [], []
    for s in sentences(text):
        bad = unsupported(s, allowed)
        if bad:
            rejected += bad
        else:
            kept.append(s)
    return " ".join(kept), rejected


class SentenceGate:
    """Streaming form of guard_text: feed model deltas, get back whole checked sentences."""

    def __init__(self, allowed: Allowed):
        self.allowed = allowed
        self.buf = ""
        self.kept: list[str] = []
        self.rejected: list[str] = []  # the unsupported claims
        self.rejected_sentences: list[str] = []

    def _check(self, s: str) -> Iterable[str]:
        bad = unsupported(s, self.allowed)
        if bad:
            self.rejected += bad
            self.rejected_sentences.append(s)
            return []
        self.kept.append(s)
        return [s]

    def feed(self, delta: str) -> list[str]:
        self.buf += delta
        parts = _SENTENCE.split(self.buf)
        self.buf = parts.pop()  # the unfinished tail waits for more text
        return [out for s in parts if s.strip('" \n') for out in self._check(s.strip('" \n'))]

    def close(self) -> list[str]:
        """The tail counts only as a finished sentence; a reply cut off by max_tokens loses its stub."""
        tail, self.buf = self.buf.strip().strip('"'), ""
        return list(self._check(tail)) if tail and tail[-1] in ".!?" else []

    @property
    def text(self) -> str:
        return " ".join(self.kept)
