from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.amounts import MAX_UINT256, format_units, parse_amount, to_base_units
from app.errors import InvalidAmount, NonPositiveAmount, TooManyDecimals

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text,value",
    [("1,500", "1500"), ("1.5k", "1500"), ("0.000001", "0.000001"), ("2M", "2000000"), (".5", "0.5"),
     ("1,234,567.89", "1234567.89"), ("3 thousand", "3000"), ("10", "10")],
)
def test_parse_amount(text, value):
    assert parse_amount(text) == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "1.2.3", "1,50", "", "1e5", "NaN", "inf", "0x10"])
def test_parse_amount_rejects_junk(text):
    with pytest.raises(InvalidAmount) as e:
        parse_amount(text)
    assert e.value.code == "invalid_amount"


@pytest.mark.parametrize("text", ["0", "-1", "0.000", "-0.5"])
def test_non_positive(text):
    with pytest.raises(NonPositiveAmount) as e:
        parse_amount(text)
    assert e.value.code == "non_positive_amount"


def test_too_many_decimals_is_an_error_not_a_rounding():
    assert to_base_units(Decimal("19.99"), 6) == 19_990_000
    with pytest.raises(TooManyDecimals) as e:
        to_base_units(Decimal("0.0000001"), 6, "USDC")
    assert e.value.code == "too_many_decimals" and "USDC" in e.value.message
    with pytest.raises(TooManyDecimals):
        to_base_units(Decimal("0.0000000000000000001"), 18)


def test_one_wei_and_max():
    assert to_base_units(Decimal("0.000000000000000001"), 18) == 1
    with pytest.raises(InvalidAmount):
        to_base_units(Decimal(MAX_UINT256 + 1), 0)


@given(base=st.integers(min_value=1, max_value=MAX_UINT256), decimals=st.integers(min_value=0, max_value=36))
def test_round_trip_every_decimals(base, decimals):
    text = format_units(base, decimals)
    assert "e" not in text.lower()
    assert to_base_units(parse_amount(text), decimals) == base


@given(base=st.integers(min_value=1, max_value=10**40), decimals=st.integers(min_value=0, max_value=36))
def test_grouped_round_trip(base, decimals):
    assert to_base_units(parse_amount(format_units(base, decimals, grouping=True)), decimals) == base


def test_format_truncates_visibly():
    assert format_units(123456789, 6, max_fraction=2) == "~123.45"
    assert format_units(123450000, 6, max_fraction=2) == "123.45"
    assert format_units(10**24, 18, grouping=True) == "1,000,000"
