"""Address validation: checksummed or all-lowercase accepted; mixed case with a bad checksum rejected."""
from __future__ import annotations

import re

from eth_utils import is_checksum_address, to_checksum_address

from app.errors import InvalidAddress

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
_HEX40 = re.compile(r"^0x[0-9a-fA-F]{40}$")


def checksum(address: str) -> str:
    """Return the EIP-55 form or raise InvalidAddress with a reason a person understands."""
    if not isinstance(address, str):
        raise InvalidAddress(f"{address!r} is not an address.")
    a = address.strip()
    if not _HEX40.match(a):
        if re.match(r"^0x[0-9a-fA-F]*$", a):
            raise InvalidAddress(f"{a} is not a valid address: it has {len(a) - 2} hex digits, an address has 40.")
        raise InvalidAddress(f"'{a}' is not an Ethereum address (0x followed by 40 hex digits).")
    body = a[2:]
    if body == body.lower() or body == body.upper():
        return to_checksum_address(a)
    # eth-utils' is_address() accepts a wrong checksum on mixed case; check it explicitly.
    if not is_checksum_address(a):
        raise InvalidAddress(
            f"{a} has a bad checksum (its upper/lower case letters do not match EIP-55). "
            "Copy the address again from a trusted source."
        )
    return a


def is_valid(address: str) -> bool:
    try:
        checksum(address)
        return True
    except InvalidAddress:
        return False
