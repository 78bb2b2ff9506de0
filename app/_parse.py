"""The deterministic request grammar behind ``app.intents.parse_intent``.

Reading order: addresses (validated first: a bad checksum is a refusal whatever else the text says),
then amounts with their units, token mentions, named contracts ("the router", "the vault"), NFT ids and
the verbs of each kind. Each kind's reader takes only what it can prove from the text: exactly one
recipient, exactly one amount in a known unit, no left-over tokens or addresses. Anything else raises.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from app.addresses import checksum
from app.amounts import MAX_UINT256, parse_amount, to_base_units
from app.errors import Ambiguous, InvalidAddress, InvalidAmount, NonPositiveAmount, NotUnderstood, UnknownToken
from app.tokens import TokenRegistry

# --- vocabulary ----------------------------------------------------------------------------------
_NUM_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_SCALE_WORDS = {"hundred": 100, "thousand": 1000, "million": 10**6}
_NUMW = "|".join(sorted(list(_NUM_WORDS) + list(_SCALE_WORDS), key=len, reverse=True))
_NUM_RUN = re.compile(
    rf"(?<!\d\s)\b(?:an?\s+(?=(?:hundred|thousand|million)\b))?(?:{_NUMW})(?:(?:\s+and\s+|\s+|-)(?:{_NUMW}))*\b")
_ART = r"(?:an?|one)\s+"
_FRACTIONS = [  # an article is required: "half a WBTC" is an amount, "half of my DAI" is not (refused)
    (re.compile(rf"\b(\d+) and an? half\s+"), None),
    (re.compile(rf"\b(?:an?\s+|one\s+|1\s+)?half\s+(?:of\s+)?{_ART}"), "0.5 "),
    (re.compile(r"\b(?:a|one|1)\s+half\s+(?!of\b|my\b|the\b|your\b|it\b|hour\b)(?=[a-z])"), "0.5 "),
    (re.compile(r"\b(?:a|one|1)\s+quarter\s+(?!of\b|my\b|the\b|your\b|it\b|hour\b)(?=[a-z])"), "0.25 "),
    (re.compile(rf"\b(?:an?\s+|one\s+|1\s+)?quarter\s+(?:of\s+)?{_ART}"), "0.25 "),
    (re.compile(rf"\bthree\s+quarters?\s+(?:of\s+)?{_ART}"), "0.75 "),
    (re.compile(rf"\b(?:an?\s+|one\s+|1\s+)tenth\s+(?:of\s+)?{_ART}"), "0.1 "),
    (re.compile(rf"\b(?:an?\s+|one\s+|1\s+)fifth\s+(?:of\s+)?{_ART}"), "0.2 "),
    (re.compile(rf"\b(?:an?\s+|one\s+|1\s+)hundredth\s+(?:of\s+)?{_ART}"), "0.01 "),
    (re.compile(rf"\b(?:an?\s+|one\s+|1\s+)thousandth\s+(?:of\s+)?{_ART}"), "0.001 "),
]
_NATIVE_UNITS = {"eth": 18, "ether": 18, "ethers": 18, "ethereum": 18, "wei": 0, "gwei": 9}
# Words that may follow a number without being a token (so they are neither a unit nor an unknown token).
_NOT_TOKENS = {
    "to", "for", "from", "into", "in", "on", "at", "over", "please", "pls", "plz", "and", "with", "as", "or", "now",
    "asap", "then", "is", "it", "each", "per", "by", "via", "back", "out", "of", "the", "a", "an", "more", "worth",
    "minutes", "minute", "mins", "min", "hours", "hour", "seconds", "days", "day", "percent", "bps", "times",
    "people", "nft", "nfts", "items", "item", "tokens", "token", "dollars", "bucks", "usd", "slippage", "right",
    "today", "tomorrow", "me", "my", "your", "them", "him", "her", "us", "so", "but", "if", "thanks", "thx", "hundred",
}
_FILLERS = ("of my ", "of the ", "of your ", "of ", "worth of ", "more ", "whole ")
# All-caps words that are ordinary English or jargon, never token symbols.
_CAPS_OK = {
    "I", "A", "OK", "ASAP", "PLS", "PLZ", "NFT", "NFTS", "ID", "USD", "TX", "ERC", "ERC20", "ERC721", "ENS", "ABI",
    "LP", "DM", "FYI", "BTW", "THX", "TY", "GM", "LOL", "AM", "PM", "UTC", "EOD", "TIA", "IOU", "ETA", "ME", "MY",
    "US", "UK", "EU", "DAO", "DEX", "AMM", "DEFI", "RPC", "API", "EOA", "ETH", "IT", "TO", "FOR", "AND", "THE", "NOW",
    "PLEASE", "SEND", "BPS", "MAX", "ALL", "NO", "YES", "HEY", "HI", "V2", "OF", "IN", "ON", "MIN",
    "CEO", "CTO", "FAQ", "DIY", "BRB", "IMO", "IMHO", "AFAIK", "NYC", "SF", "LA", "URGENT", "ONLY", "JUST",
    "THIS", "THAT", "TODAY", "BACK", "HALF", "EXACTLY", "NOT", "DO", "IS", "AT", "FROM", "OR", "WITH", "SO",
}

_TRANSFER = re.compile(
    r"\b(send|sending|sent|pay|paying|paid|transfer|transferring|ship|tip|move|moving|give|wire|forward|owe|drop|"
    r"hand|donate|refund|reimburse|remit|beam|push|airdrop|deliver|get)\b")
_SWAP = re.compile(
    r"\b(swap\w*|trade|trading|exchange|convert\w*|sell|selling|buy|buying|dump|turn|change|flip|spend|use|"
    r"rotate|cash)\b|->")
_REVOKE = re.compile(
    r"\b(revok\w*|unapprov\w*|disallow|deauthori[sz]\w*)\b|"
    r"\b(remove|cancel|reset|clear|kill|drop|withdraw|take away|pull)\b[^.]*\b(approval|allowance|permission|"
    r"spending rights|access)\b|"
    r"\b(allowance|approval)\b[^.]*\b(to|at)\s+(0|zero|nothing)\b")
_APPROVE = re.compile(
    r"\b(approv\w*|allowance|authori[sz]\w*|permission|permit|spending (?:cap|limit|rights))\b|"
    r"\b(grant|give)\b[^.]*\b(unlimited|infinite)\b|"
    r"\b(grant|give)\s+(?:the\s+)?(?:uniswap(?:\s+router)?|router|vault|vusdc|addrx\d+)\s+(?:\w+\s+)?access\b|"
    r"\b(allow|let|enable)\s+(?:the\s+|my\s+)?(?:uniswap(?:\s+v2)?(?:\s+router)?|router|vault|vusdc|addrx\d+|it)\s+"
    r"(?:to\s+)?(spend|use|pull|take|move|transfer|access|withdraw|draw|charge|debit)\b|"
    r"\b(?:uniswap(?:\s+v2)?(?:\s+router)?|router|vault|vusdc|addrx\d+)\s+(?:can|may|could|is allowed to|gets to)\s+"
    r"(spend|use|pull|take|move|access)\b")
_WRAP = re.compile(r"\b(wrap|wrapping|wrapped)\b")
_UNWRAP = re.compile(r"\b(unwrap\w*)\b")
_DEPOSIT = re.compile(r"\b(deposit\w*|put|stake|supply|invest|park|lock|add|move|place|stick|stash)\b")
_WITHDRAW = re.compile(
    r"\b(withdraw\w*|redeem\w*)\b|\b(pull|take|get|move|cash|remove)\b[^.]*\b(out|from|back)\b")
_NFT = re.compile(r"\b(nfts?|collectibles?)\b|#\s*\d")
_NEGATION = re.compile(r"\b(don'?t|do not|never|not|cancel|undo|stop|without)\b")
_UNLIMITED = re.compile(
    r"\b(infinite|unlimited|max|maximum|maximal|limitless|uncapped|unrestricted|no limit|endless|"
    r"as much(?: [a-z]+)? as (?:it|they|he|she) (?:wants?|needs?|likes?)|any amount)\b")
_STOP_SLOT = {"router", "vault", "uniswap", "unlimited", "infinite", "max", "spending", "approval", "allowance",
              "permission", "rights", "access", "all", "any", "v2", "an", "its", "their", "this", "that", "dex",
              "wallet", "account", "tokens", "token", "funds", "coins", "approvals", "allowances"}
_OUTPUT_VERBS = {"buy", "get", "want", "need", "receive", "acquire", "purchase", "obtain", "grab"}
_INPUT_VERBS = {"sell", "swap", "trade", "dump", "convert", "exchange", "spend", "use", "turn", "change", "flip"}
_SKIP_BACK = {"me", "myself", "us", "some", "my", "the", "all", "of", "exactly", "at", "least", "to", "i'd", "like"}
_OUT_MARKERS = {"for", "into", "to", "->", "as", "some", "buy", "get", "want", "need", "receive", "purchase", "on",
                "worth"}

_ADDR_LIKE = re.compile(r"(?<![0-9a-zA-Z])0[xX][0-9a-zA-Z]*")
_BARE_HEX40 = re.compile(r"(?<![0-9a-zA-Z])[0-9a-fA-F]{40}(?![0-9a-zA-Z])")
_ENS = re.compile(r"\b[a-z0-9-]+\.eth\b", re.IGNORECASE)
_NUMBER = re.compile(
    r"(?<![\w.,#$/:])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:(k|mm|m|bn)\b|\s*(thousand|million|billion)\b)?")
_FROM_ME = re.compile(r"\b(from|my wallet|my address|my account)\s*[:=]?\s*$", re.IGNORECASE)
_TIME_AFTER = re.compile(r"\s*(minutes?|mins?|hours?|seconds?|secs?|days?|weeks?|blocks?)\b")
_ID_PREFIX = re.compile(r"(?:#|\b(?:token|id|nft|devnft|no\.|number|numbered))\s*$")
_WORD = re.compile(r"[a-z][a-z0-9']*|->")
_SLIPPAGE = re.compile(
    r"(\d+(?:\.\d+)?)\s*%\s*(?:max\s+)?slippage|slippage\s*(?:of|at|to|:|=|tolerance(?: of)?)?\s*(\d+(?:\.\d+)?)\s*%|"
    r"(\d+)\s*bps\b")


@dataclass
class Amount:
    value: Decimal
    unit: str | None  # canonical symbol ("ETH" for eth/ether/wei/gwei) or None when no unit follows
    scale: int | None  # decimals to convert with (18 eth, 0 wei, 9 gwei, token decimals)
    start: int
    end: int
    raw: str

    def base(self) -> int:
        if self.unit is None or self.scale is None:
            raise NotUnderstood(f"'{self.raw}' of what? Say which token (e.g. {self.raw} USDC).")
        return to_base_units(self.value, self.scale, self.unit)


@dataclass
class Mention:
    symbol: str
    start: int


@dataclass
class Facts:
    text: str  # normalised: lower case, addresses as addrxN, number words as digits
    addresses: list[str] = field(default_factory=list)  # checksummed, unique, in order
    amounts: list[Amount] = field(default_factory=list)
    bare: list[Mention] = field(default_factory=list)  # token symbols not used as an amount's unit
    named: set[str] = field(default_factory=set)  # ROUTER / VAULT
    unknown_units: list[str] = field(default_factory=list)
    slippage_bps: int | None = None


@dataclass
class CandidateFacts:
    """What a model's proposal may use: only what the text itself contains."""

    addresses: set[str]
    symbols: set[str]
    amounts: set[tuple[str, int]]
    named: set[str]
    unlimited: bool
    nft_ids: set[int]
    cues: set[str]


class Parser:
    def __init__(self, registry: TokenRegistry, manifest: dict):
        self.registry = registry
        self.manifest = manifest
        self.units: dict[str, tuple[str, int]] = dict((k, ("ETH", v)) for k, v in _NATIVE_UNITS.items())
        vaults = {s.lower() for s in manifest.get("vaults", {})}
        self._vault_words = vaults
        aliases: list[tuple[str, str]] = []
        for tok in registry:
            if tok.symbol.lower() in vaults:
                self.units[tok.symbol.lower()] = (tok.symbol, tok.decimals)
                continue
            self.units[tok.symbol.lower()] = (tok.symbol, tok.decimals)
            if tok.name and tok.name.lower() != tok.symbol.lower():
                aliases.append((tok.name.lower(), tok.symbol.lower()))
        if "WETH" in manifest.get("tokens", {}):
            aliases += [("wrapped ether", "weth"), ("wrapped eth", "weth")]
        if "LINK" in manifest.get("tokens", {}):
            aliases.append(("chainlink", "link"))
        if "WBTC" in manifest.get("tokens", {}):
            aliases.append(("wrapped bitcoin", "wbtc"))
        self.aliases = sorted(aliases, key=lambda a: -len(a[0]))
        self.nft_words = {"devnft"} | {n.lower() for n in manifest.get("nfts", {})}
        for n in manifest.get("nfts", {}).values():
            if n.get("name"):
                aliases.append((n["name"].lower(), next(iter(self.nft_words))))
        self.aliases = sorted(aliases, key=lambda a: -len(a[0]))

    # --- named things ---------------------------------------------------------------------------
    def named_address(self, label: str) -> str:
        c = self.manifest["contracts"]
        if label == "ROUTER":
            return checksum(c["UniswapV2Router02"])
        return checksum(self.manifest["vaults"][self.vault_symbol()]["address"])

    def vault_symbol(self) -> str:
        vaults = list(self.manifest.get("vaults", {}))
        if len(vaults) != 1:
            raise Ambiguous("Which vault? Name it by its symbol." if vaults else "There is no vault on this chain.")
        return vaults[0]

    def vault_asset(self, vault: str) -> str:
        return self.manifest["vaults"][vault]["asset"]

    def nft_collection(self) -> str:
        nfts = list(self.manifest.get("nfts", {}))
        if len(nfts) != 1:
            raise Ambiguous("Which NFT collection?" if nfts else "There is no NFT collection on this chain.")
        return nfts[0]

    # --- extraction -----------------------------------------------------------------------------
    def _unit(self, word: str) -> tuple[str, int] | None:
        if word in self.units:
            return self.units[word]
        if word.endswith("s") and word[:-1] in self.units and word[:-1] not in ("wei", "gwei"):
            return self.units[word[:-1]]
        return None

    def extract(self, text: str, sender: str | None = None) -> Facts:
        if not isinstance(text, str) or not text.strip():
            raise NotUnderstood("The request is empty.")
        raw = text.strip()
        m = _ENS.search(raw)
        if m:
            raise InvalidAddress(f"'{m.group(0)}' is a name, not an address; names are not resolved here. Paste the 0x address.")
        if _BARE_HEX40.search(raw):
            raise InvalidAddress("That looks like an address without its 0x prefix; paste the full 0x address.")
        addresses: list[str] = []

        def repl(mo: re.Match) -> str:
            addr = checksum(mo.group(0) if mo.group(0)[:2] == "0x" else "0x" + mo.group(0)[2:])
            if int(addr, 16) == 0:
                raise InvalidAddress("That is the zero address: anything sent or approved there is lost. Paste the real address.")
            if sender and addr.lower() == sender.lower() and _FROM_ME.search(raw[: mo.start()]):
                return " "  # "from 0x<my address>" names the sender, not a counterparty
            if addr not in addresses:
                addresses.append(addr)
            return f" addrx{addresses.index(addr)} "

        s = _ADDR_LIKE.sub(repl, raw)
        self._check_caps(s)
        s = s.lower()
        s = (s.replace("\u2192", " -> ").replace("=>", " -> ").replace("-->", " -> ").replace("\u2019", "'")
             .replace("\u00a0", " "))
        s = re.sub(r"(?<=\w)->", " ->", s)
        s = re.sub(r"->(?=\w)", "-> ", s)
        s = re.sub(r"->\s*(addrx\d+)", r"to \1", s)  # an arrow pointing at an address names the recipient
        s = re.sub(r"\b(?:to|recipient|receiver|payee)\s*[:=]\s*(addrx\d+)|\brecipient\s+(addrx\d+)",
                   lambda mo: f"to {mo.group(1) or mo.group(2)}", s)  # form style: "recipient: 0x.., amount: 5 dai"
        s = re.sub(r"\bamount\s*[:=]\s*", "", s)
        for name, sym in self.aliases:
            s = re.sub(rf"\b{re.escape(name)}\b", sym, s)
        s = re.sub(r"\bdev\s+nft\b", "devnft", s)
        s = re.sub(r"\$\s?(\d[\d,]*(?:\.\d+)?)\s*(usdc|dai)\b", r"\1 \2", s)  # "$50 USDC" is 50 USDC
        s = re.sub(r"\bzero(?:\s+out)?(?=\s+(?:the|my|your|its|uniswap|router|vault|addrx))", "clear", s)
        s = _words_to_numbers(s)
        s = re.sub(r"\s+", " ", s).strip()
        facts = Facts(text=s, addresses=addresses)
        if re.search(r"(?:^|[\s(:])-\s?\d", s) or re.search(r"\bminus\s+\d", s):
            raise NonPositiveAmount("The amount must be greater than zero.")
        sl = _SLIPPAGE.search(s)
        if sl:
            pct = sl.group(1) or sl.group(2)
            facts.slippage_bps = int(Decimal(pct) * 100) if pct else int(sl.group(3))
            s_no_slip = s[: sl.start()] + " " * (sl.end() - sl.start()) + s[sl.end():]
        else:
            s_no_slip = s
        used_units: set[int] = set()
        for mo in _NUMBER.finditer(s_no_slip):
            after = s_no_slip[mo.end(): mo.end() + 2]
            if re.match(r"[.,/]\d", after) or re.match(r" \d{3}\b", s_no_slip[mo.end(): mo.end() + 5]):
                raise InvalidAmount(f"I can't read the amount '{mo.group(0)}{after}...'.")
            if after[:1] == "%":
                raise NotUnderstood("I need an amount of a token, not a percentage.")
            if _ID_PREFIX.search(s_no_slip[max(0, mo.start() - 12): mo.start()]):
                continue  # an NFT id, not an amount
            num = mo.group(1) + (mo.group(2) or "") + (mo.group(3) or "")
            if re.fullmatch(r"[1-9]\d{0,2}\.\d\d0", mo.group(1)):
                raise InvalidAmount(f"Is '{mo.group(1)}' {mo.group(1).rstrip('0').rstrip('.')} or {mo.group(1).replace('.', '')}? "
                                    "Write it without the trailing zeros, or with a comma for thousands.")
            try:
                value = parse_amount(num)
            except NonPositiveAmount:  # refused only if this number turns out to be the amount
                value = Decimal(0)
            pos = mo.end()
            rest = s_no_slip[pos:]
            lead = re.match(r"\s*", rest).end()
            rest2 = rest[lead:]
            for f in _FILLERS:
                if rest2.startswith(f):
                    lead += len(f)
                    rest2 = rest2[len(f):]
                    break
            w = _WORD.match(rest2)
            unit = scale = None
            end = pos
            if w:
                u = self._unit(w.group(0))
                if u is not None:
                    unit, scale = u
                    end = pos + lead + w.end()
                    used_units.add(pos + lead)
                elif w.group(0) not in _NOT_TOKENS and not w.group(0).startswith("addrx") and w.group(0) != "->":
                    facts.unknown_units.append(w.group(0))
            if unit == "ETH" and w:
                scale = _NATIVE_UNITS.get(w.group(0), 18)
            facts.amounts.append(Amount(value, unit, scale, mo.start(), end, num))
        for w in _WORD.finditer(s_no_slip):
            word = w.group(0)
            if w.start() in used_units:
                continue
            if word in self._vault_words:
                facts.named.add("VAULT")
                continue
            u = self._unit(word)
            if u is not None and word not in ("wei", "gwei"):
                facts.bare.append(Mention(u[0], w.start()))
        if re.search(r"\b(vault|savings vault)\b", s):
            facts.named.add("VAULT")
        if re.search(r"\b(uniswap|router|the dex)\b", s):
            facts.named.add("ROUTER")
        return facts

    def _check_caps(self, s: str) -> None:
        """An all-caps word that is no known symbol is almost surely a token we don't know (DOGE, PEPE)."""
        words = re.findall(r"\b[A-Za-z][A-Za-z0-9]*\b", s)
        caps = [w for w in words if w.isupper() and len(w) >= 2 and not w.startswith("addrx")]
        if len(caps) > 0.6 * max(1, len([w for w in words if not w.startswith("addrx")])):
            return  # shouting: capitals carry no signal
        for w in caps:
            if w in _CAPS_OK or self._unit(w.lower()) or w.lower() in self.nft_words or w.lower() in self._vault_words:
                continue
            raise UnknownToken(f"I don't know a token called '{w}' on chain {self.registry.chain_id}. "
                               f"Known: {', '.join(['ETH'] + self.registry.symbols())}.")

    # --- the parse --------------------------------------------------------------------------------
    def parse(self, text: str, sender: str | None = None):
        from app import intents as I

        f = self.extract(text, sender)
        s = f.text
        if re.search(r"\b\d+\s*(?:times|x)\b|\b(?:twice|thrice|each|every|daily|weekly|monthly)\b", s):
            raise Ambiguous("That asks for a repeated transaction; I draft one at a time.")
        if _NEGATION.search(s) and not _REVOKE.search(s):
            raise NotUnderstood("That reads like something not to do; I only draft what you ask for directly.")
        if _NFT.search(s) or any(re.search(rf"\b{w}\b", s) for w in self.nft_words):
            return self._nft(f, I)
        if f.unknown_units:
            raise UnknownToken(f"I don't know a token called '{f.unknown_units[0]}'. "
                               f"Known: {', '.join(['ETH'] + self.registry.symbols())}.")
        if _REVOKE.search(s):
            return self._revoke(f, I)
        if _APPROVE.search(s):
            return self._approve(f, I)
        if _UNWRAP.search(s):
            return self._unwrap(f, I)
        if _WRAP.search(s):
            return self._wrap(f, I)
        if "VAULT" in f.named and "ROUTER" in f.named and not _APPROVE.search(s):
            raise Ambiguous("Your message names both the vault and the router; which one do you mean?")
        if "VAULT" in f.named and not f.addresses:
            if _WITHDRAW.search(s):
                if _DEPOSIT.search(s) and re.search(r"\b(deposit\w*|put|stake)\b", s):
                    raise Ambiguous("Deposit or withdraw? Your message reads both ways.")
                return self._vault(f, I, deposit=False)
            if _DEPOSIT.search(s):
                return self._vault(f, I, deposit=True)
            raise Ambiguous("What should happen with the vault: a deposit or a withdrawal?")
        if not f.addresses and not f.named and re.search(r"\bdeposit\w*\b", s) and not _SWAP.search(s):
            return self._vault(f, I, deposit=True)
        if not f.addresses and not f.named and re.search(r"\bwithdraw\w*\b", s) and not _SWAP.search(s):
            return self._vault(f, I, deposit=False)
        tokens = {m.symbol for m in f.bare} | {a.unit for a in f.amounts if a.unit}
        if not f.addresses and (len(tokens) >= 2 or _SWAP.search(s)):
            return self._swap(f, I)
        if f.addresses and (_TRANSFER.search(s) or re.search(r"\bto addrx\d+", s)):
            return self._transfer(f, I)
        if not f.addresses and _TRANSFER.search(s) and f.amounts:
            raise Ambiguous("Who should receive it? Paste the recipient's 0x address.")
        for word in re.findall(r"\bsome\s+([a-z][a-z0-9]*)", s):  # "I want some doge for 10 eth"
            if word not in _NOT_TOKENS and word not in _SKIP_BACK and self._unit(word) is None:
                raise UnknownToken(f"I don't know a token called '{word}'.")
        raise NotUnderstood("I couldn't read a transaction in that. Try e.g. 'send 5 USDC to 0x...'.")

    # --- kinds --------------------------------------------------------------------------------------
    def _one_amount(self, f: Facts, what: str = "amount") -> Amount:
        with_unit = [a for a in f.amounts if a.unit]
        if len(with_unit) > 1:
            raise Ambiguous("Your message has more than one amount; I'll draft one transfer at a time.")
        stray = [a for a in f.amounts if not a.unit and not _TIME_AFTER.match(f.text[a.end:])]
        if with_unit and stray:
            raise Ambiguous(f"Which amount: {with_unit[0].raw} {with_unit[0].unit} or {stray[0].raw}? Please say it once.")
        if not with_unit:
            if f.amounts:
                raise NotUnderstood(f"'{f.amounts[0].raw}' of what? Say the token, e.g. {f.amounts[0].raw} USDC.")
            raise Ambiguous(f"How much? Your request needs an {what} with a token, e.g. 10 USDC.")
        return with_unit[0]

    def _one_address(self, f: Facts, role: str = "recipient") -> str:
        if len(f.addresses) > 1:
            raise Ambiguous(f"Your message has {len(f.addresses)} addresses; which one is the {role}?")
        if not f.addresses:
            raise Ambiguous(f"Who is the {role}? Paste their 0x address.")
        return f.addresses[0]

    def _transfer(self, f: Facts, I):
        if f.named:
            raise Ambiguous("Your message names a contract and an address; I won't guess which receives the funds.")
        if _SWAP.search(re.sub(r"\b(use|get|change|turn|spend|cash)\b", "", f.text)):
            raise Ambiguous("That reads like a swap and a transfer at once; please ask for one at a time.")
        if re.search(r"\b(deposit\w*|stake|supply|invest|withdraw\w*|redeem\w*)\b", f.text):
            raise Ambiguous("A deposit or withdrawal for someone else? Ask to send the tokens, or to use the vault yourself.")
        if re.search(r"\bfrom\s+addrx\d+|\b(receive|request|collect|claim|borrow|ask)\b", f.text) or \
                re.search(r"\b(sent|send|pay|paid|give|gave|gives|transfer\w*|owes?|owed)\s+me\b", f.text):
            raise Ambiguous("That reads like money coming to you; I only draft what your own wallet sends.")
        if re.search(r"\b(i|we|i've|ive|they|he|she)\s+(?:have\s+|already\s+|just\s+)*(sent|paid|transferred|gave|tipped)\b|"
                     r"\b(did|have)\s+(i|we|you)\s+(already\s+)?(send|sent|pay|paid|transfer\w*)\b", f.text):
            raise NotUnderstood("That reads like something that already happened, not a request to send.")
        to = self._one_address(f)
        amt = self._one_amount(f)
        if any(m.symbol != amt.unit for m in f.bare):
            raise Ambiguous("Your message mentions more than one token; which one should I send?")
        base = amt.base()
        if amt.unit == "ETH":
            return I.NativeTransfer(to=to, value_wei=base)
        tok = self.registry.by_symbol(amt.unit)
        return I.Erc20Transfer(token=tok.symbol, to=to, amount_base=base)

    def _spender(self, f: Facts, revoke: bool = False) -> tuple[str, str | None]:
        options = [(a, None) for a in f.addresses] + [(self.named_address(n), n) for n in sorted(f.named)]
        if len(options) > 1:
            raise Ambiguous("Your message names more than one possible spender; which one?")
        if not options:
            raise Ambiguous(("Whose allowance should I revoke?" if revoke else "Who should get the allowance?")
                            + " Name the router, the vault or paste an address.")
        return options[0]

    def _approval_token(self, f: Facts, amt: Amount | None) -> str:
        syms = {m.symbol for m in f.bare} | ({amt.unit} if amt else set())
        if not syms:  # "revoke shib approval for the router": the token slot holds a word we don't know
            slots = re.findall(r"\b([a-z][a-z0-9]*)(?:'s)?\s+(?:approval|allowance|spending|permission)", f.text) + \
                re.findall(r"\b(?:my|of|for|on|unlimited|infinite|max|maximum)\s+([a-z][a-z0-9]*)\b", f.text)
            for word in slots:
                if word not in _NOT_TOKENS and word not in _SKIP_BACK and word not in _STOP_SLOT and \
                        not word.startswith("addrx") and self._unit(word) is None:
                    raise UnknownToken(f"I don't know a token called '{word}'.")
        if len(syms) != 1:
            raise Ambiguous("Which token is the allowance for?" if not syms else "Your message mentions more than one token.")
        sym = syms.pop()
        if sym == "ETH":
            raise Ambiguous("ETH is not a token with allowances; did you mean WETH?")
        return self.registry.by_symbol(sym).symbol

    def _revoke(self, f: Facts, I):
        if [a for a in f.amounts if a.unit]:
            raise Ambiguous("A revoke sets the allowance to zero; your message also has an amount.")
        spender, label = self._spender(f, revoke=True)
        return I.Erc20Revoke(token=self._approval_token(f, None), spender=spender, spender_label=label)

    def _approve(self, f: Facts, I):
        s = f.text
        permission = re.search(r"\b(allow|let|permit|enable|authori[sz]e)\b[^.]*?\bto\b|\blet\b", s)
        if (_DEPOSIT.search(s) and re.search(r"\bdeposit\w*\b", s) or re.search(r"\bswap\w*\b", s)) and not permission:
            raise Ambiguous("Approve only, or also deposit/swap? Ask for the action itself and I'll add the approval.")
        if re.search(r"\b(increase|decrease|raise|lower|reduce|bump|top up|add)\b[^.]*\bby\b", s):
            raise Ambiguous("I set an allowance to an amount, not up or down by one; say the new total.")
        spender, label = self._spender(f)
        unlimited = bool(_UNLIMITED.search(s))
        with_unit = [a for a in f.amounts if a.unit]
        if unlimited and with_unit:
            raise Ambiguous("Unlimited or a fixed amount? Your message says both.")
        if unlimited:
            return I.Erc20Approve(token=self._approval_token(f, None), spender=spender, spender_label=label,
                                  amount_base=MAX_UINT256)
        if re.search(r"\ball\b", s) and not with_unit:
            raise Ambiguous("'All' could mean your balance or unlimited; say an amount or 'unlimited'.")
        unitless = [a for a in f.amounts if not a.unit and not _TIME_AFTER.match(s[a.end:])]
        bare = {m.symbol for m in f.bare}
        if not with_unit and len(unitless) == 1 and len(bare) == 1 and "ETH" not in bare:
            # "set my DAI allowance for uniswap to 500": the only token named is the unit
            tok = self.registry.by_symbol(bare.pop())
            a = unitless[0]
            return I.Erc20Approve(token=tok.symbol, spender=spender, spender_label=label,
                                  amount_base=to_base_units(a.value, tok.decimals, tok.symbol))
        amt = self._one_amount(f, "allowance")
        sym = self._approval_token(f, amt)
        return I.Erc20Approve(token=sym, spender=spender, spender_label=label, amount_base=amt.base())

    def _eth_weth_amount(self, f: Facts, allowed=("ETH", "WETH")) -> int:
        if f.addresses or f.named:
            raise Ambiguous("Wrapping and unwrapping happen in your own wallet; your message also names an address or contract.")
        amt = self._one_amount(f)
        if amt.unit not in allowed or any(m.symbol not in ("ETH", "WETH") for m in f.bare):
            raise Ambiguous("Only ETH and WETH can be wrapped or unwrapped.")
        return amt.base()

    def _wrap(self, f: Facts, I):
        return I.Wrap(value_wei=self._eth_weth_amount(f))

    def _unwrap(self, f: Facts, I):
        return I.Unwrap(amount_base=self._eth_weth_amount(f))

    def _vault(self, f: Facts, I, *, deposit: bool):
        if f.addresses:
            raise Ambiguous("A vault deposit or withdrawal is for your own wallet; your message also has an address.")
        vault = self.vault_symbol()
        asset = self.vault_asset(vault)
        amt = self._one_amount(f)
        if amt.unit != asset or any(m.symbol != asset for m in f.bare):
            raise Ambiguous(f"The {vault} vault takes {asset}; say the amount in {asset}.")
        model = I.VaultDeposit if deposit else I.VaultWithdraw
        return model(vault=vault, assets_base=amt.base())

    def _words_before(self, f: Facts, pos: int) -> list[str]:
        return [w for w in _WORD.findall(f.text[:pos]) if w not in _SKIP_BACK][::-1]

    def _swap(self, f: Facts, I):
        s = f.text
        if "VAULT" in f.named:
            raise Ambiguous("Swap or vault? Your message reads both ways.")
        amt = self._one_amount(f, "amount to swap")
        others = [m for m in f.bare if m.symbol != amt.unit]
        out_syms = {m.symbol for m in others}
        if not out_syms:
            # "swap 10 usdc for doge": the target slot holds a word we don't know
            slots = re.findall(r"\bsome\s+([a-z][a-z0-9]*)", s) + \
                re.findall(r"(?:\bfor|\binto|\bto|->)\s+(?:some\s+)?([a-z][a-z0-9]*)", s[amt.end:])
            for word in slots:
                if word not in _NOT_TOKENS and word not in _SKIP_BACK:
                    raise UnknownToken(f"I don't know a token called '{word}'.")
            raise Ambiguous("Swap into which token?")
        if len(out_syms) > 1:
            raise Ambiguous("Your message mentions more than two tokens; which one do you want?")
        out = others[0]
        # Exact output ("buy 100 USDC with ETH") is not an exact-in swap: refuse rather than flip it.
        prev = self._words_before(f, amt.start)
        prev_out = self._words_before(f, out.start)
        if prev and prev[0] in _OUTPUT_VERBS and not s[amt.end:].lstrip().startswith("worth") and \
                not (prev_out and (prev_out[0] in ("as", "into", "to", "->")
                                   or (prev_out[0] == "in" and {amt.unit, out.symbol} == {"ETH", "WETH"}))):
            raise Ambiguous("I can only swap an exact amount you pay; say how much you want to spend.")
        if prev_out and prev_out[0] in _INPUT_VERBS and out.start < amt.start:
            raise Ambiguous("Which side is the amount? Say e.g. 'swap 100 USDC for DAI'.")
        if prev_out and prev_out[0] not in _OUT_MARKERS and out.start > amt.start and \
                not (prev_out[0] == "in" and {amt.unit, out.symbol} == {"ETH", "WETH"}):
            if not re.search(r"\b(for|into|to|->|as)\b|->", s[amt.end:out.start + 1]):
                raise Ambiguous("Which token do you want to receive? Say e.g. 'swap 100 USDC for DAI'.")
        tin, tout = amt.unit, out.symbol
        base = amt.base()
        if {tin, tout} == {"ETH", "WETH"}:
            return I.Wrap(value_wei=base) if tin == "ETH" else I.Unwrap(amount_base=base)
        return I.SwapExactIn(token_in=tin, token_out=tout, amount_in_base=base, slippage_bps=f.slippage_bps)

    def _nft(self, f: Facts, I):
        s = f.text
        if _APPROVE.search(s) or re.search(r"\bapprov|operator|all my nfts", s):
            raise NotUnderstood("NFT approvals are not drafted from plain text; ask to transfer one token by its id.")
        ids = set()
        for mo in re.finditer(r"#\s*(\d+)|\b(?:token|id|nft|devnft|number|numbered|no\.?)\s*(?:id\s*|number\s*)?#?\s*(\d+)\b", s):
            ids.add(int(mo.group(1) or mo.group(2)))
        if re.search(r"#\s*\d+\.\d|\b(?:token|id)\s*\d+\.\d", s):
            raise InvalidAmount("An NFT id is a whole number.")
        if len(ids) != 1:
            raise Ambiguous("Which NFT? Say its id, e.g. 'DEVNFT #3'." if not ids else "Your message names more than one NFT id.")
        if [a for a in f.amounts if a.unit] or f.bare:
            raise Ambiguous("Your message mixes an NFT with a token amount; one thing at a time.")
        if f.named:
            raise Ambiguous("Your message names a contract; paste the recipient's 0x address.")
        if not (_TRANSFER.search(s) or re.search(r"\bto addrx\d+", s)):
            raise NotUnderstood("What should happen with the NFT? Say e.g. 'send DEVNFT #3 to 0x...'.")
        to = self._one_address(f)
        tid = ids.pop()
        return I.NftTransfer(collection=self.nft_collection(), to=to, token_id=tid)

    # --- for validating model output -------------------------------------------------------------
    def facts(self, text: str) -> CandidateFacts:
        f = self.extract(text)
        s = f.text
        amounts: set[tuple[str, int]] = set()
        mentioned = {m.symbol.upper() for m in f.bare} | {a.unit.upper() for a in f.amounts if a.unit}
        for a in f.amounts:
            units = [a.unit] if a.unit else (list(mentioned) if len(mentioned) == 1 else [])
            for u in units:
                try:
                    scale = a.scale if a.unit else self.registry.by_symbol(u).decimals
                    amounts.add((u.upper(), to_base_units(a.value, scale, u)))
                except Exception:  # an amount the unit cannot hold is simply not usable
                    continue
        ids = {int(x or y) for x, y in re.findall(r"#\s*(\d+)|\b(?:token|id|nft|devnft|number)\s*(?:id\s*)?#?\s*(\d+)\b", s)}
        cues = set()
        if _TRANSFER.search(s) or re.search(r"\bto addrx\d+", s):
            cues |= {"native_transfer", "erc20_transfer", "nft_transfer"}
        if _APPROVE.search(s):
            cues.add("erc20_approve")
        if _REVOKE.search(s):
            cues.add("erc20_revoke")
        if _WRAP.search(s) or "WETH" in mentioned:
            cues.add("wrap")
        if _UNWRAP.search(s) or "WETH" in mentioned:
            cues.add("unwrap")
        if _SWAP.search(s) or len(mentioned) >= 2:
            cues.add("swap_exact_in")
        if _DEPOSIT.search(s):
            cues.add("vault_deposit")
        if _WITHDRAW.search(s):
            cues.add("vault_withdraw")
        return CandidateFacts(
            addresses={a.lower() for a in f.addresses}, symbols=mentioned, amounts=amounts, named=set(f.named),
            unlimited=bool(_UNLIMITED.search(s)), nft_ids=ids, cues=cues)


_DIGIT_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                "seven": "7", "eight": "8", "nine": "9"}
_DW = "|".join(list(_DIGIT_WORDS) + [r"\d"])
_POINT = re.compile(rf"(?:\b(\d+|{'|'.join(_DIGIT_WORDS)})\s+)?\bpoint((?:\s+(?:{_DW}))+)\b")
_VULGAR = {"\u00bd": ".5", "\u00bc": ".25", "\u00be": ".75"}


def _words_to_numbers(s: str) -> str:
    for ch, frac in _VULGAR.items():  # "1½" -> 1.5, "½" -> 0.5
        s = re.sub(rf"(\d*){ch}", lambda mo: f"{mo.group(1) or '0'}{frac} ", s)

    def point(mo: re.Match) -> str:  # "two point five" -> 2.5 (read before "five" becomes a number on its own)
        whole = mo.group(1) or "0"
        whole = _DIGIT_WORDS.get(whole, whole)
        digits = "".join(_DIGIT_WORDS.get(d, d) for d in mo.group(2).split())
        return f"{whole}.{digits}"

    s = _POINT.sub(point, s)
    if re.search(r"\bpoint\b\s+\S", s) and re.search(rf"\bpoint\s+(?:{_NUMW}|\d)", s):
        raise InvalidAmount("I can't read that decimal number in words; please write it in digits.")
    def run(mo: re.Match) -> str:
        total = current = 0
        last = None  # "unit" (1-19) | "tens" | "scale": a unit or tens may only follow tens/scale/nothing
        for w in re.split(r"[\s-]+", mo.group(0)):
            if w in ("and", ""):
                continue
            if w in ("a", "an"):
                current = 1
            elif w in _NUM_WORDS:
                v = _NUM_WORDS[w]
                kind = "tens" if v >= 20 else "unit"
                if last == "unit" or (last == "tens" and kind == "tens"):
                    raise InvalidAmount(f"I can't read '{mo.group(0)}' as one number; please write it in digits.")
                current += v
                last = kind
                continue
            elif w == "hundred":
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * _SCALE_WORDS[w]
                current = 0
            last = "scale"
        return str(total + current)

    s = _NUM_RUN.sub(run, s)
    for rx, rep in _FRACTIONS:
        if rep is None:
            s = rx.sub(lambda mo: f"{mo.group(1)}.5 ", s)
        else:
            s = rx.sub(rep, s)
    return s
