"""Human amount text <-> Decimal <-> integer base units. Never floats."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext

from app.errors import InvalidAmount, NonPositiveAmount, TooManyDecimals

MAX_UINT256 = 2**256 - 1

_SUFFIX = {"k": 3, "thousand": 3, "m": 6, "mm": 6, "million": 6, "b": 9, "bn": 9, "billion": 9}
_NUMBER = re.compile(
    r"^(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)\s*(?P<suffix>k|thousand|mm|m|million|bn|b|billion)?$",
    re.IGNORECASE,
)


def parse_amount(text: str | int | Decimal) -> Decimal:
    """'1,500' -> 1500, '1.5k' -> 1500, '0.000001' -> 0.000001. Raises InvalidAmount/NonPositiveAmount."""
    if isinstance(text, bool):
        raise InvalidAmount(f"{text!r} is not an amount.")
    if isinstance(text, int):
        value = Decimal(text)
    elif isinstance(text, Decimal):
        value = text
    else:
        raw = str(text).strip().replace("_", "")
        if raw.startswith("-"):
            raise NonPositiveAmount(f"The amount must be greater than zero, got {raw}.")
        m = _NUMBER.match(raw)
        if not m:
            raise InvalidAmount(f"'{text}' is not an amount I can read (try 1500, 1,500, 1.5k or 0.25).")
        value = Decimal(m.group("num").replace(",", ""))
        if m.group("suffix"):
            value = value.scaleb(_SUFFIX[m.group("suffix").lower()])
    if not value.is_finite():
        raise InvalidAmount(f"'{text}' is not a finite amount.")
    if value <= 0:
        raise NonPositiveAmount(f"The amount must be greater than zero, got {format_decimal(value)}.")
    return value


def to_base_units(amount: Decimal | str | int, decimals: int, symbol: str = "") -> int:
    """Exact conversion; more fractional digits than the token has is an error, never a rounding."""
    value = parse_amount(amount) if not isinstance(amount, Decimal) else amount
    if value <= 0:
        raise NonPositiveAmount(f"The amount must be greater than zero, got {format_decimal(value)}.")
    if not 0 <= decimals <= 77:
        raise InvalidAmount(f"Unsupported decimals value {decimals}.")
    with localcontext() as ctx:
        ctx.prec = 200
        scaled = value.scaleb(decimals)
        if scaled != scaled.to_integral_value():
            unit = f" {symbol}" if symbol else ""
            raise TooManyDecimals(
                f"{format_decimal(value)}{unit} has more decimal places than the token allows ({decimals}).",
                details={"decimals": decimals},
            )
        base = int(scaled)
    if base > MAX_UINT256:
        raise InvalidAmount("The amount is larger than any token balance can be.")
    return base


def from_base_units(base: int, decimals: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 200
        return Decimal(int(base)).scaleb(-decimals)


def format_decimal(value: Decimal) -> str:
    """Plain notation without exponent or trailing zeros: Decimal('1E+3') -> '1000'."""
    try:
        with localcontext() as ctx:
            ctx.prec = 200
            text = format(value.normalize(), "f")
    except InvalidOperation:  # pragma: no cover - only non-finite values
        return str(value)
    return text


def format_units(base: int, decimals: int, *, max_fraction: int | None = None, grouping: bool = False) -> str:
    """Base units -> human text, exact unless ``max_fraction`` asks to cut (then truncated, marked with ~)."""
    value = from_base_units(base, decimals)
    approx = False
    if max_fraction is not None and -value.as_tuple().exponent > max_fraction:
        q = Decimal(1).scaleb(-max_fraction)
        cut = value.quantize(q, rounding="ROUND_DOWN")
        approx = cut != value
        value = cut
    text = format_decimal(value)
    if grouping:
        whole, _, frac = text.partition(".")
        whole = f"{int(whole):,}"
        text = whole + (f".{frac}" if frac else "")
    return ("~" if approx else "") + text
