"""Records -> chunks: one chunk per member, inherited copies folded into their declaration.

Folding is what keeps thin ABI copies (the same `allowance` in every ERC-20 artifact) from
crowding the top results: an ABI entry joins the source declaration with the same canonical
signature in the same contract or its nearest ancestor, and `also_in` lists where else it shows.
"""
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import asdict, dataclass, field

from index._sources import Record

_SPLIT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_WORD = re.compile(r"[A-Za-z_$][\w$]*|\d+")


@dataclass
class Chunk:
    kind: str
    contract: str
    member: str
    signature: str
    selector: str | None
    package: str
    source: str
    lines: tuple[int, int] | None
    doc: str
    origin: str
    visibility: str | None = None
    mutability: str | None = None
    contract_kind: str | None = None
    canonical: str | None = None
    params: list[str] = field(default_factory=list)
    also_in: list[str] = field(default_factory=list)
    overloads: list[str] = field(default_factory=list)  # other signatures of the same name, with lines
    facts: str = ""  # what its body reverts with and emits (Solidity only)
    id: str = ""

    def __post_init__(self):
        if isinstance(self.lines, list):
            self.lines = tuple(self.lines)
        if not self.id:
            key = "\x1f".join([self.package, self.source, self.contract, self.kind, self.member, self.signature, self.doc])
            self.id = hashlib.sha256(key.encode()).hexdigest()[:32]

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def text(self) -> str:
        """What a reader (or the LLM) sees: signature, then the documentation."""
        if self.kind == "doc":
            return self.doc
        more = "".join(f"\n{o}" for o in self.overloads)
        facts = f"\n({self.facts})" if self.facts else ""
        return f"{self.signature}{more}\n{self.doc}{facts}".strip()

    def embed_text(self) -> str:
        if self.kind == "doc":
            return f"{self.contract} {self.signature}: {self.doc}"[:1000]
        who = words(self.member)
        args = ", ".join(words(p) for p in self.params if p)
        head = f"{self.kind} {who}" + (f" ({args})" if args else "")
        facts = f" It {self.facts}." if self.facts else ""
        return f"{words(self.contract)}: {head}. {self.doc}{facts}"[:700]

    @functools.cached_property
    def terms(self) -> frozenset[str]:
        """lex_tokens as a set, for re-ranking features (computed once; not saved)."""
        return frozenset(self.lex_tokens())

    @functools.cached_property
    def negated(self) -> frozenset[str]:
        """Words the doc says are not so ("the contract is not paused"): ExpectedPause vs EnforcedPause."""
        return negated_words(self.doc)

    def lex_tokens(self) -> list[str]:
        # Identity tokens are repeated so a name match outweighs a passing mention in prose.
        ident = tokens(self.member) * 2 + tokens(self.contract) + [self.kind]
        pkg = tokens(self.package.rsplit("@", 1)[0]) if self.package else []
        return ident + pkg + tokens(" ".join(self.params)) + tokens(self.doc) + tokens(self.facts)


_NOT = re.compile(r"\b(?:not|n't|never|no longer|non-)\s*(?:be\s+|been\s+|yet\s+|currently\s+|already\s+)?([A-Za-z]\w*)", re.I)


def negated_words(text: str) -> frozenset[str]:
    return frozenset(stem(m.group(1).lower()) for m in _NOT.finditer(text.replace("n't", " n't")))


def words(ident: str) -> str:
    """swapExactETHForTokens -> 'swap exact ETH for tokens' (dense models read words)."""
    return " ".join(_SPLIT.findall(ident)) or ident


_ERC = re.compile(r"\b(?:erc|eip)[\s_-]?(\d{2,5})\b", re.I)
STOP = frozenset("""a an the of to in on for and or is are be by with as at it its this that
these those from can do does how what which who whom when where why i my me we our you your
if into than then there their them they will would should could may might must so such not no
get gets got has have had was were been being any some all each""".split())


def stem(w: str) -> str:
    """A light suffix stripper so deposits/deposited/depositing meet deposit."""
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    for suf in ("ing", "ed"):
        if len(w) > len(suf) + 3 and w.endswith(suf):
            w = w[:-len(suf)]
            return w[:-1] if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "ls" else w
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    # approve/approved/approves all meet at "approv".
    return w[:-1] if len(w) > 4 and w.endswith("e") else w


@functools.lru_cache(maxsize=65536)
def name_parts(ident: str) -> tuple[str, ...]:
    """Stemmed camelCase parts of an identifier, ERC + number joined: ERC20Permit -> erc20, permit."""
    parts = [p.lower() for p in _SPLIT.findall(ident)]
    out: list[str] = []
    for p in parts:
        if p.isdigit() and out and out[-1] in ("erc", "ierc", "eip"):
            out[-1] = "erc" + p
        else:
            out.append(stem(p))
    return tuple(out)


def tokens(text: str) -> list[str]:
    """Lower-case stemmed search tokens: whole identifiers plus camelCase parts; ERC-721 -> erc721."""
    text = _ERC.sub(lambda m: f"erc{m.group(1)}", text)
    out = []
    for w in _WORD.findall(text):
        lw = w.lower().lstrip("_")
        if not lw or lw in STOP:
            continue
        out.append(stem(lw))
        parts = name_parts(w)
        if len(parts) > 1:
            out += [p for p in parts if p not in STOP and p != lw]
        # IERC20 -> erc20 as well: interfaces are named after the standard they describe.
        if re.fullmatch(r"I[A-Z]\w+", w):
            out.append(stem(lw[1:]))
    return out


def _from_record(r: Record) -> Chunk:
    return Chunk(kind=r.kind, contract=r.contract, member=r.member, signature=r.signature, selector=r.selector,
                 package=r.package, source=r.source, lines=r.lines, doc=r.doc, origin=r.origin,
                 visibility=r.visibility, mutability=r.mutability, contract_kind=r.contract_kind,
                 canonical=r.canonical, params=r.params, facts=r.facts)


def _fold_kind(kind: str) -> str:
    return "function" if kind == "variable" else kind  # a public variable is its getter in the ABI


def ancestors(name: str, package: str, graph: dict[str, dict[str, list[str]]]) -> dict[str, int]:
    """Contract name -> inheritance distance, following `is` lists (same package preferred)."""
    dist, frontier = {}, [name]
    d = 0
    while frontier and d < 32:
        d += 1
        nxt = []
        for c in frontier:
            homes = graph.get(c, {})
            bases = homes.get(package) if package in homes else next(iter(homes.values()), [])
            for b in bases:
                if b not in dist and b != name:
                    dist[b] = d
                    nxt.append(b)
        frontier = nxt
    return dist


def fold(records: list[Record], existing: list[Chunk], graph: dict[str, dict[str, list[str]]]) -> tuple[list[Chunk], int]:
    """Turn records into new chunks, merging inherited copies into existing or new declarations.

    Mutates `existing` chunks' also_in/selector in place when an ABI copy joins them; returns the
    new chunks and the number of records folded away. `graph` (contract -> package -> bases) is
    updated with the contracts found in `records`.
    """
    for r in records:
        if r.kind == "contract":
            graph.setdefault(r.contract, {})[r.package] = r.bases
    by_sig: dict[tuple[str, str], list[Chunk]] = {}
    by_member: dict[tuple[str, str, str], Chunk] = {}

    def register(c: Chunk):
        if c.canonical and c.origin != "doc":
            by_sig.setdefault((_fold_kind(c.kind), c.canonical), []).append(c)
        by_member.setdefault((c.contract, c.kind, c.member), c)

    for c in existing:
        register(c)
    new: list[Chunk] = []
    folded = 0
    seen_ids = {c.id for c in existing}

    sol_recs = [r for r in records if r.origin != "abi"]
    # Declarations whose whole doc is `@inheritdoc X` join X's chunk after the others exist.
    plain = [r for r in sol_recs if not (r.inheritdoc and r.doc == "")]
    inherit = [r for r in sol_recs if r.inheritdoc and r.doc == ""]
    for r in plain:
        c = _from_record(r)
        if c.id in seen_ids:
            folded += 1
            continue
        # Overloads (ECDSA.recover x3) are one member: one chunk listing every signature.
        twin = by_member.get((r.contract, r.kind, r.member))
        if twin is not None and twin.source == r.source and r.kind in ("function", "event", "error", "modifier"):
            entry = f"{r.signature} (L{r.lines[0]}-L{r.lines[1]})"
            if entry not in twin.overloads and r.signature != twin.signature:
                twin.overloads.append(entry)
            if r.canonical:
                by_sig.setdefault((_fold_kind(r.kind), r.canonical), []).append(twin)
            folded += 1
            continue
        seen_ids.add(c.id)
        new.append(c)
        register(c)
    for r in inherit:
        target = next((c for c in by_sig.get((_fold_kind(r.kind), r.canonical), []) if c.contract == r.inheritdoc), None)
        if target is None:
            target = by_member.get((r.inheritdoc, r.kind, r.member))
        if target is not None and r.contract != target.contract:
            _also(target, r.contract)
            folded += 1
            continue
        c = _from_record(r)
        if c.id not in seen_ids:
            seen_ids.add(c.id)
            new.append(c)
            register(c)
        else:
            folded += 1

    # ABI entries: smaller ABIs first, so a family's base interface becomes the representative.
    abi = [r for r in records if r.origin == "abi"]
    sizes: dict[str, int] = {}
    for r in abi:
        sizes[r.contract] = sizes.get(r.contract, 0) + 1
    abi.sort(key=lambda r: (sizes[r.contract], r.contract, r.source))
    for r in abi:
        key = (_fold_kind(r.kind), r.canonical or r.kind)
        cands = by_sig.get(key, [])
        target = next((c for c in cands if c.contract == r.contract and c.origin == "sol"), None)
        if target is None:
            target = next((c for c in cands if c.contract == r.contract), None)
        if target is None and cands:
            anc = ancestors(r.contract, r.package, graph)
            near = sorted((anc[c.contract], c.origin != "sol", i) for i, c in enumerate(cands) if c.contract in anc)
            if near:
                target = cands[near[0][2]]
            else:
                # Solidity puts errors/events a contract merely uses into its ABI; else an ABI-only
                # family (no sources indexed): fold into the same package's declaration or copy.
                same = [c for c in cands if c.package == r.package and (c.origin == "abi" or r.kind != "function")]
                target = next((c for c in same if c.origin == "sol"), same[0] if same else None)
        if target is not None:
            if r.contract != target.contract:
                _also(target, r.contract)
            if r.selector and target.selector is None and target.kind in ("function", "event", "error", "variable"):
                target.selector = r.selector
            folded += 1
            continue
        c = _from_record(r)
        if c.id in seen_ids:
            folded += 1
            continue
        seen_ids.add(c.id)
        new.append(c)
        register(c)
    return new, folded


def _also(target: Chunk, contract: str) -> None:
    if contract != target.contract and contract not in target.also_in:
        target.also_in.append(contract)
