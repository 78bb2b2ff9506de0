"""Sign-In with Ethereum (EIP-4361): build the message, parse it back, verify a personal_sign signature.

Written here rather than taken from the `siwe` package, whose pins conflict with the eth-account
that web3 8 needs. Recovery is eth_account's (EIP-191 personal message); nonces are single-use and
tracked server-side by ``NonceBook``.
"""
from __future__ import annotations

import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_checksum_address

from app.errors import SiweInvalid

NONCE_ALPHABET = string.ascii_letters + string.digits
DEFAULT_STATEMENT = "Sign in to chatdapp. This proves you control this address; it sends no transaction and costs nothing."


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: str
    statement: str | None = None
    version: str = "1"
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """The exact EIP-4361 text the wallet shows and signs."""
        lines = [f"{self.domain} wants you to sign in with your Ethereum account:", self.address, ""]
        if self.statement:
            lines += [self.statement, ""]
        lines += [
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {self.issued_at}",
        ]
        if self.expiration_time:
            lines.append(f"Expiration Time: {self.expiration_time}")
        if self.not_before:
            lines.append(f"Not Before: {self.not_before}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {r}" for r in self.resources]
        return "\n".join(lines)


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_time(value: str, name: str) -> datetime:
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise SiweInvalid(f"The sign-in message has an unreadable {name}: {value!r}.") from e
    if t.tzinfo is None:
        raise SiweInvalid(f"The sign-in message's {name} has no time zone.")
    return t


def make_nonce(length: int = 17) -> str:
    """EIP-4361 nonces are at least 8 alphanumeric characters; 17 gives ~100 bits."""
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(length))


def build_message(
    *,
    domain: str,
    address: str,
    uri: str,
    chain_id: int,
    nonce: str,
    statement: str | None = DEFAULT_STATEMENT,
    ttl_s: int = 600,
    now: datetime | None = None,
) -> SiweMessage:
    now = now or datetime.now(timezone.utc)
    if not is_checksum_address(address):
        raise SiweInvalid(f"The sign-in address must be EIP-55 checksummed: {address}", code="invalid_address")
    if not re.fullmatch(r"[A-Za-z0-9]{8,}", nonce):
        raise SiweInvalid("The sign-in nonce must be at least 8 letters or digits.")
    if statement and "\n" in statement:
        raise SiweInvalid("The sign-in statement must be one line.")
    return SiweMessage(
        domain=domain, address=address, uri=uri, chain_id=int(chain_id), nonce=nonce,
        issued_at=_iso(now), statement=statement, expiration_time=_iso(now + timedelta(seconds=ttl_s)),
    )


_HEADER = re.compile(r"^(?P<domain>\S+) wants you to sign in with your Ethereum account:$")
_FIELDS = {
    "URI": "uri", "Version": "version", "Chain ID": "chain_id", "Nonce": "nonce", "Issued At": "issued_at",
    "Expiration Time": "expiration_time", "Not Before": "not_before", "Request ID": "request_id",
}
_ORDER = list(_FIELDS)


def parse_message(text: str) -> SiweMessage:
    """Parse the EIP-4361 text (strict field order, as the spec's ABNF requires)."""
    lines = text.split("\n")
    if len(lines) < 3 or not (m := _HEADER.match(lines[0])):
        raise SiweInvalid("This is not a Sign-In with Ethereum message (bad first line).")
    address = lines[1]
    if not is_checksum_address(address):
        raise SiweInvalid(f"The sign-in message's address is not EIP-55 checksummed: {address}", code="invalid_address")
    if lines[2] != "":
        raise SiweInvalid("The sign-in message needs a blank line after the address.")
    i = 3
    statement = None
    if i < len(lines) and not lines[i].startswith("URI: "):
        statement = lines[i]
        if i + 1 >= len(lines) or lines[i + 1] != "":
            raise SiweInvalid("The sign-in message needs a blank line after the statement.")
        i += 2
    values: dict[str, str] = {}
    last = -1
    resources: list[str] = []
    while i < len(lines):
        line = lines[i]
        if line == "Resources:":
            resources = [r[2:] for r in lines[i + 1:] if r.startswith("- ")]
            if len(resources) != len(lines) - i - 1:
                raise SiweInvalid("The sign-in message has a malformed resource list.")
            break
        name, sep, value = line.partition(": ")
        if not sep or name not in _FIELDS:
            raise SiweInvalid(f"The sign-in message has an unknown line: {line!r}.")
        pos = _ORDER.index(name)
        if pos <= last:
            raise SiweInvalid(f"The sign-in message's field {name!r} is out of order or repeated.")
        last = pos
        values[_FIELDS[name]] = value
        i += 1
    for required in ("uri", "version", "chain_id", "nonce", "issued_at"):
        if required not in values:
            raise SiweInvalid(f"The sign-in message lacks its {required.replace('_', ' ')}.")
    if values["version"] != "1":
        raise SiweInvalid(f"Unsupported sign-in message version {values['version']!r}.")
    if not values["chain_id"].isdigit():
        raise SiweInvalid(f"The sign-in message's chain id is not a number: {values['chain_id']!r}.")
    _parse_time(values["issued_at"], "issued-at time")
    return SiweMessage(
        domain=m["domain"], address=address, statement=statement, resources=tuple(resources),
        **{**values, "chain_id": int(values["chain_id"])},
    )


def recover_signer(text: str, signature: str) -> str:
    try:
        return Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception as e:  # malformed hex, wrong length, bad v: all mean "not a valid signature"
        raise SiweInvalid(f"The signature could not be read ({type(e).__name__}).") from e


class NonceBook:
    """Nonces issued by this server; each verifies at most once and only before it goes stale."""

    def __init__(self, ttl_s: int = 600, clock=time.monotonic):
        self._issued: dict[str, float] = {}
        self._ttl = ttl_s
        self._clock = clock
        self._lock = threading.Lock()

    def issue(self) -> str:
        nonce = make_nonce()
        with self._lock:
            now = self._clock()
            self._issued = {n: t for n, t in self._issued.items() if now - t < self._ttl}
            self._issued[nonce] = now
        return nonce

    def consume(self, nonce: str) -> bool:
        with self._lock:
            t = self._issued.pop(nonce, None)
        return t is not None and self._clock() - t < self._ttl


def verify(
    text: str,
    signature: str,
    *,
    domain: str,
    nonces: NonceBook,
    chain_id: int | None = None,
    now: datetime | None = None,
) -> SiweMessage:
    """Check every claim of a signed sign-in message; return it, or raise SiweInvalid with the reason.

    The nonce is consumed only once everything else checks out, so a stray bad signature does
    not burn a pending sign-in.
    """
    msg = parse_message(text)
    now = now or datetime.now(timezone.utc)
    if msg.domain != domain:
        raise SiweInvalid(f"The sign-in message is for {msg.domain}, not {domain}.", code="siwe_domain")
    if chain_id is not None and msg.chain_id != chain_id:
        raise SiweInvalid(f"The sign-in message is for chain {msg.chain_id}, not {chain_id}.", code="siwe_chain")
    if msg.expiration_time and now >= _parse_time(msg.expiration_time, "expiration time"):
        raise SiweInvalid("The sign-in message has expired. Sign in again.", code="siwe_expired")
    if msg.not_before and now < _parse_time(msg.not_before, "not-before time"):
        raise SiweInvalid("The sign-in message is not valid yet.", code="siwe_not_yet")
    signer = recover_signer(text, signature)
    if signer != msg.address:
        raise SiweInvalid(
            f"The signature was made by {signer}, not by {msg.address}.", code="siwe_signature",
            details={"signer": signer, "address": msg.address},
        )
    if not nonces.consume(msg.nonce):
        raise SiweInvalid("This sign-in request was already used or is unknown. Sign in again.", code="siwe_nonce")
    return msg
