import pytest
from eth_utils import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from app.addresses import checksum, is_valid
from app.errors import InvalidAddress

pytestmark = pytest.mark.unit

GOOD = "0xBDE527584625ff7fe5E64Be2Ac7A077f04a36b5f"


def test_checksummed_and_lowercase_accepted():
    assert checksum(GOOD) == GOOD
    assert checksum(GOOD.lower()) == GOOD
    assert checksum("0x" + GOOD[2:].upper()) == GOOD


def test_bad_checksum_rejected():
    bad = "0x5d6677D3B0fa2F8caf843b217E87cD5eAec9e925"  # eval case d17: wrong EIP-55 case
    with pytest.raises(InvalidAddress) as e:
        checksum(bad)
    assert e.value.code == "invalid_address" and "checksum" in e.value.message


@pytest.mark.parametrize("junk", ["0x123", "hello", "0xZZ27584625ff7fe5E64Be2Ac7A077f04a36b5f", GOOD + "00", "", None, 42])
def test_junk_rejected(junk):
    assert not is_valid(junk)


@given(st.binary(min_size=20, max_size=20))
def test_round_trip(raw):
    cs = to_checksum_address(raw)
    assert checksum(cs) == cs and checksum(cs.lower()) == cs


@given(st.binary(min_size=20, max_size=20), st.integers(min_value=2, max_value=41))
def test_flipped_case_is_rejected(raw, pos):
    cs = to_checksum_address(raw)
    ch = cs[pos]
    if not ch.isalpha():
        return
    flipped = cs[:pos] + (ch.lower() if ch.isupper() else ch.upper()) + cs[pos + 1:]
    body = flipped[2:]
    if body == body.lower() or body == body.upper():
        assert checksum(flipped) == cs  # all one case is the unchecksummed form: accepted
    else:
        with pytest.raises(InvalidAddress):
            checksum(flipped)
