"""Token registry: the devnet manifest plus optional token lists (the standard token-list JSON format)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from app.addresses import checksum
from app.errors import Ambiguous, ConfigError, UnknownToken

NATIVE = "ETH"
NATIVE_DECIMALS = 18


@dataclass(frozen=True)
class Token:
    symbol: str
    address: str  # checksummed; "" for the native coin
    decimals: int
    name: str = ""
    chain_id: int = 31337
    kind: str = "erc20"  # erc20 | native | vault

    @property
    def is_native(self) -> bool:
        return self.kind == "native"

    def to_dict(self) -> dict:
        return asdict(self)


class TokenRegistry:
    def __init__(self, tokens: Iterable[Token] = (), chain_id: int = 31337):
        self.chain_id = chain_id
        self._by_symbol: dict[str, list[Token]] = {}
        self._by_address: dict[str, Token] = {}
        self.native = Token(NATIVE, "", NATIVE_DECIMALS, "Ether", chain_id, "native")
        for t in tokens:
            self.add(t)

    def add(self, token: Token) -> None:
        if token.chain_id != self.chain_id:
            return
        key = token.address.lower()
        if key in self._by_address:
            return
        self._by_address[key] = token
        self._by_symbol.setdefault(token.symbol.upper(), []).append(token)

    def __iter__(self):
        return iter(self._by_address.values())

    def __len__(self) -> int:
        return len(self._by_address)

    def erc20s(self) -> list[Token]:
        return [t for t in self if t.kind == "erc20"]

    def by_symbol(self, symbol: str) -> Token:
        """Case-insensitive; 'ETH'/'ether' is the native coin. Unknown or duplicated symbols raise."""
        s = symbol.strip().upper()
        if s in ("ETH", "ETHER", "ETHERS"):
            return self.native
        found = self._by_symbol.get(s, [])
        if not found:
            raise UnknownToken(f"I don't know a token called '{symbol}' on chain {self.chain_id}.")
        if len(found) > 1:
            raise Ambiguous(
                f"More than one token is called {symbol}: " + ", ".join(t.address for t in found) + ". Use its address."
            )
        return found[0]

    def by_address(self, address: str) -> Token | None:
        return self._by_address.get(checksum(address).lower())

    def symbols(self) -> list[str]:
        return sorted(self._by_symbol)

    # --- builders ---------------------------------------------------------------------------
    @classmethod
    def from_manifest(cls, manifest: dict, token_lists: Iterable[Path] = ()) -> "TokenRegistry":
        chain_id = int(manifest["chain_id"])
        reg = cls(chain_id=chain_id)
        for sym, t in manifest.get("tokens", {}).items():
            reg.add(Token(sym, checksum(t["address"]), int(t["decimals"]), t.get("name", sym), chain_id))
        for sym, v in manifest.get("vaults", {}).items():
            reg.add(Token(sym, checksum(v["address"]), int(v["decimals"]), sym, chain_id, "vault"))
        for path in token_lists:
            reg.load_token_list(path)
        return reg

    def load_token_list(self, path: Path) -> int:
        try:
            data = json.loads(Path(path).read_text())
            entries = data["tokens"] if isinstance(data, dict) else data
            n = 0
            for e in entries:
                if int(e.get("chainId", self.chain_id)) != self.chain_id:
                    continue
                self.add(Token(e["symbol"], checksum(e["address"]), int(e["decimals"]), e.get("name", e["symbol"]), self.chain_id))
                n += 1
            return n
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"Cannot read the token list {path}: {e}") from e
