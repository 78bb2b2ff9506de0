"""EIP-4361 sign-in: message text, round-trip parsing, and every server-side check failing for its own reason."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given, settings
from hypothesis import strategies as st

from app import siwe
from app.errors import SiweInvalid

pytestmark = pytest.mark.unit

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil dev account 0
ADDR = Account.from_key(KEY).address
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def sign(text: str, key: str = KEY) -> str:
    return Account.sign_message(encode_defunct(text=text), private_key=key).signature.to_0x_hex()


def fresh(book: siwe.NonceBook, **kw) -> siwe.SiweMessage:
    args = dict(domain="localhost:8501", address=ADDR, uri="http://localhost:8501", chain_id=31337, nonce=book.issue(), now=T0)
    return siwe.build_message(**{**args, **kw})


def test_message_text_matches_the_eip_4361_layout():
    m = siwe.build_message(domain="example.com", address=ADDR, uri="https://example.com/login", chain_id=1,
                           nonce="abcdEFGH1234", statement="Hello.", ttl_s=60, now=T0)
    assert m.text() == (
        "example.com wants you to sign in with your Ethereum account:\n"
        f"{ADDR}\n\nHello.\n\n"
        "URI: https://example.com/login\nVersion: 1\nChain ID: 1\nNonce: abcdEFGH1234\n"
        "Issued At: 2026-01-02T03:04:05.000Z\nExpiration Time: 2026-01-02T03:05:05.000Z"
    )


def test_parse_the_spec_example_with_resources_and_no_statement():
    text = (
        "service.org wants you to sign in with your Ethereum account:\n"
        f"{ADDR}\n\n"
        "URI: https://service.org/login\nVersion: 1\nChain ID: 1\nNonce: 32891757\n"
        "Issued At: 2021-09-30T16:25:24.000Z\nRequest ID: r-1\nResources:\n- ipfs://bafy\n- https://example.com/my-web2-claim.json"
    )
    m = siwe.parse_message(text)
    assert (m.domain, m.statement, m.nonce, m.request_id) == ("service.org", None, "32891757", "r-1")
    assert m.resources == ("ipfs://bafy", "https://example.com/my-web2-claim.json")
    assert m.text() == text


@settings(max_examples=40, deadline=None)
@given(
    domain=st.from_regex(r"[a-z][a-z0-9.-]{0,20}(:[0-9]{2,5})?", fullmatch=True),
    chain_id=st.integers(1, 2**40),
    statement=st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=60)),
    nonce=st.from_regex(r"[A-Za-z0-9]{8,24}", fullmatch=True),
)
def test_build_then_parse_round_trips(domain, chain_id, statement, nonce):
    if statement is not None and statement.startswith("URI: "):
        statement = "x" + statement
    m = siwe.build_message(domain=domain, address=ADDR, uri=f"http://{domain}", chain_id=chain_id, nonce=nonce,
                           statement=statement, now=T0)
    assert siwe.parse_message(m.text()) == m


def test_a_good_signature_verifies_once():
    book = siwe.NonceBook()
    m = fresh(book)
    got = siwe.verify(m.text(), sign(m.text()), domain="localhost:8501", nonces=book, chain_id=31337, now=T0)
    assert got.address == ADDR
    with pytest.raises(SiweInvalid) as e:  # replay
        siwe.verify(m.text(), sign(m.text()), domain="localhost:8501", nonces=book, chain_id=31337, now=T0)
    assert e.value.code == "siwe_nonce"


@pytest.mark.parametrize(
    "tamper, code",
    [
        (lambda m, t: (t, sign(t, OTHER_KEY), {}), "siwe_signature"),
        (lambda m, t: (t.replace("Chain ID: 31337", "Chain ID: 1"), sign(t), {}), "siwe_chain"),
        (lambda m, t: (t, sign(t), {"domain": "evil.example"}), "siwe_domain"),
        (lambda m, t: (t, sign(t), {"now": T0 + timedelta(hours=1)}), "siwe_expired"),
        (lambda m, t: (t.replace(m.nonce, "Zz" + m.nonce[2:]), None, {}), "siwe_signature"),
        (lambda m, t: (t, "0x1234", {}), "siwe_invalid"),
        (lambda m, t: (t.replace("Version: 1", "Version: 2"), sign(t), {}), "siwe_invalid"),
        (lambda m, t: (t.replace(m.address, m.address.lower()), sign(t), {}), "invalid_address"),
    ],
    ids=["other-signer", "chain", "domain", "expired", "edited-after-signing", "garbage-signature", "version", "lowercase-address"],
)
def test_each_check_fails_for_its_own_reason(tamper, code):
    book = siwe.NonceBook()
    m = fresh(book)
    text, sig, over = tamper(m, m.text())
    if sig is None:  # signed the original, then the text was edited
        sig = sign(m.text())
    kw = {"domain": "localhost:8501", "nonces": book, "chain_id": 31337, "now": T0, **over}
    with pytest.raises(SiweInvalid) as e:
        siwe.verify(text, sig, **kw)
    assert e.value.code == code


def test_a_failed_attempt_does_not_burn_the_nonce():
    book = siwe.NonceBook()
    m = fresh(book)
    with pytest.raises(SiweInvalid):
        siwe.verify(m.text(), sign(m.text(), OTHER_KEY), domain="localhost:8501", nonces=book, now=T0)
    assert siwe.verify(m.text(), sign(m.text()), domain="localhost:8501", nonces=book, now=T0).address == ADDR


def test_unknown_and_stale_nonces_are_refused():
    clock = [0.0]
    book = siwe.NonceBook(ttl_s=60, clock=lambda: clock[0])
    stale = fresh(book)
    clock[0] = 61.0
    with pytest.raises(SiweInvalid, match="already used or is unknown"):
        siwe.verify(stale.text(), sign(stale.text()), domain="localhost:8501", nonces=book, now=T0)
    foreign = fresh(siwe.NonceBook())
    with pytest.raises(SiweInvalid) as e:
        siwe.verify(foreign.text(), sign(foreign.text()), domain="localhost:8501", nonces=book, now=T0)
    assert e.value.code == "siwe_nonce"


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        f"x wants you to sign in with your Ethereum account:\n{ADDR}\nURI: a",
        f"x wants you to sign in with your Ethereum account:\n{ADDR}\n\nURI: a\nVersion: 1\nChain ID: 1\nIssued At: 2026-01-01T00:00:00Z",
        f"x wants you to sign in with your Ethereum account:\n{ADDR}\n\nVersion: 1\nURI: a\nChain ID: 1\nNonce: abcdefgh\nIssued At: 2026-01-01T00:00:00Z",
        f"x wants you to sign in with your Ethereum account:\n{ADDR}\n\nURI: a\nVersion: 1\nChain ID: one\nNonce: abcdefgh\nIssued At: 2026-01-01T00:00:00Z",
        f"x wants you to sign in with your Ethereum account:\n{ADDR}\n\nURI: a\nVersion: 1\nChain ID: 1\nNonce: abcdefgh\nIssued At: yesterday",
        f"x wants you to sign in with your Ethereum account:\n{ADDR}\n\nURI: a\nVersion: 1\nChain ID: 1\nNonce: abcdefgh\nIssued At: 2026-01-01T00:00:00Z\nColour: blue",
    ],
    ids=["not-siwe", "no-blank", "no-nonce", "out-of-order", "chain-nan", "bad-time", "unknown-field"],
)
def test_malformed_messages_are_refused(text):
    with pytest.raises(SiweInvalid):
        siwe.parse_message(text)


def test_build_refuses_unchecksummed_address_and_short_nonce():
    with pytest.raises(SiweInvalid):
        siwe.build_message(domain="d", address=ADDR.lower(), uri="u", chain_id=1, nonce="abcdefgh12")
    with pytest.raises(SiweInvalid):
        siwe.build_message(domain="d", address=ADDR, uri="u", chain_id=1, nonce="short")
