"""Solidity sources -> declarations with NatSpec, line ranges and canonical signatures.

A small structural parser, not a compiler: comments and string literals are masked out so braces
and semicolons can be counted safely, then each contract body is split into top-level statements.
That is enough for members, their doc comments and their headers, and it tolerates any pragma
version (0.5 .. 0.8) because nothing is type-checked.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import takewhile

_CONTAINER = re.compile(r"^\s*(?:(abstract)\s+)?(contract|interface|library)\s+(\w+)\s*(.*)$", re.S)
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_ELEMENTARY = re.compile(r"^(address|bool|string|bytes\d*|u?int\d*|u?fixed[\dx]*|byte|function)$")
_VISIBILITY = ("public", "external", "internal", "private")
_MUTABILITY = ("pure", "view", "payable", "nonpayable")
_REF = re.compile(r"\{(\w+)-(\w+)\}|\{(\w+)\}")


@dataclass
class Doc:
    """Parsed NatSpec of one declaration."""

    notice: str = ""
    dev: str = ""
    title: str = ""
    params: dict[str, str] = field(default_factory=dict)
    returns: list[str] = field(default_factory=list)
    inheritdoc: str | None = None
    custom: dict[str, str] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.notice or self.dev or self.title or self.params or self.returns or self.custom)

    def render(self) -> str:
        parts = [self.title, self.notice, self.dev]
        parts += [f"{k}: {v}" for k, v in self.params.items()]
        parts += [f"returns {r}" for r in self.returns]
        parts += [f"{k}: {v}" for k, v in self.custom.items()]
        return "\n".join(p for p in parts if p)


@dataclass
class Param:
    type: str  # as written, e.g. "uint[] memory" -> "uint[]"
    name: str


@dataclass
class Decl:
    kind: str  # function|event|error|modifier|variable|constructor|fallback|receive|struct|enum|contract
    name: str
    contract: str  # "" for file-level declarations
    header: str  # the declaration without body, whitespace collapsed
    line_start: int
    line_end: int
    doc: Doc
    params: list[Param] = field(default_factory=list)
    visibility: str | None = None
    mutability: str | None = None
    contract_kind: str | None = None  # for kind == "contract": contract|interface|library|abstract
    bases: list[str] = field(default_factory=list)  # for kind == "contract"
    var_type: str | None = None  # for kind == "variable"
    facts: str = ""  # what the body does that a question may name: revert messages, errors, events


_REQUIRE_MSG = re.compile(r"""\b(?:require|revert)\s*\((?:[^;]*?,)?\s*(["'])((?:(?!\1).){2,120})\1""")
_REVERT_ERR = re.compile(r"\brevert\s+([A-Z]\w*)\s*\(")
_EMIT = re.compile(r"\bemit\s+([A-Z]\w*)\s*\(")


def body_facts(body: str) -> str:
    """Messages and names a body reverts with and events it emits, in order, without repeats.

    Members with terse or no comments (Uniswap's `ensure`, `lock`) are still findable by what they
    do: "fails with EXPIRED" -> ensure, "reverts with EnforcedPause" -> _requireNotPaused.
    """
    reverts = list(dict.fromkeys([m.group(2) for m in _REQUIRE_MSG.finditer(body)]
                                 + _REVERT_ERR.findall(body)))
    emits = list(dict.fromkeys(_EMIT.findall(body)))
    parts = []
    if reverts:
        parts.append("reverts with " + ", ".join(reverts[:6]))
    if emits:
        parts.append("emits " + ", ".join(emits[:6]))
    return "; ".join(parts)


def _mask(src: str) -> tuple[str, list[tuple[int, int, str, bool]]]:
    """Blank comments and strings (keeping newlines and offsets); return comments separately as
    (start, end, text, is_natspec)."""
    out = list(src)
    docs: list[tuple[int, int, str, bool]] = []
    i, n = 0, len(src)

    def blank(a: int, b: int) -> None:
        for j in range(a, b):
            if out[j] != "\n":
                out[j] = " "

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            natspec = src.startswith("///", i) and not src.startswith("////", i)
            docs.append((i, j, src[i + (3 if natspec else 2):j], natspec))
            blank(i, j)
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            natspec = src.startswith("/**", i) and not src.startswith("/**/", i)
            body = src[i + (3 if natspec else 2):j - 2]
            lines = [re.sub(r"^\s*\*?\s?", "", ln) for ln in body.split("\n")]
            docs.append((i, j, "\n".join(lines), natspec))
            blank(i, j)
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            blank(i + 1, min(j, n))
            i = j + 1
        else:
            i += 1
    return "".join(out), docs


def parse_natspec(raw: str) -> Doc:
    doc = Doc()
    tag, buf = "notice", []
    blocks: list[tuple[str, str]] = []
    for line in raw.split("\n"):
        m = re.match(r"\s*@([\w:-]+)\s*(.*)", line)
        if m:
            blocks.append((tag, " ".join(buf)))
            tag, buf = m.group(1), [m.group(2)]
        else:
            buf.append(line.strip())
    blocks.append((tag, " ".join(buf)))
    for tag, text in blocks:
        text = re.sub(r"\s+", " ", text).strip()
        text = _REF.sub(lambda m: f"{m.group(1)}.{m.group(2)}" if m.group(1) else m.group(3), text)
        if not text and tag != "inheritdoc":
            continue
        if tag == "notice":
            doc.notice = f"{doc.notice} {text}".strip()
        elif tag == "dev":
            doc.dev = f"{doc.dev} {text}".strip()
        elif tag == "title":
            doc.title = text
        elif tag == "param":
            name, _, desc = text.partition(" ")
            doc.params[name] = desc
        elif tag == "return":
            doc.returns.append(text)
        elif tag == "inheritdoc":
            doc.inheritdoc = text.split()[0] if text else None
        elif tag.startswith("custom:"):
            doc.custom[tag[7:]] = text
    return doc


def _statements(masked: str, start: int, end: int):
    """Top-level statements in masked[start:end]: (s, header_end, e) where header_end is the
    index of the body's '{' (or the ';')."""
    i = start
    while i < end:
        while i < end and masked[i].isspace():
            i += 1
        if i >= end:
            return
        s, depth = i, 0
        header_end = None
        while i < end:
            c = masked[i]
            if c in "([":
                depth += 1
            elif c in ")]":
                depth -= 1
            elif c == ";" and depth == 0:
                yield s, (header_end if header_end is not None else i), i + 1
                i += 1
                break
            elif c == "{" and depth == 0:
                header_end = i
                close = _match_brace(masked, i, end)
                # `Foo{...}` struct literals and `try ... {` never occur at member level; a block ends it.
                yield s, header_end, close + 1
                i = close + 1
                break
            i += 1
        else:
            if masked[s:end].strip():
                yield s, end, end
            return


def _match_brace(masked: str, i: int, end: int) -> int:
    depth = 0
    while i < end:
        if masked[i] == "{":
            depth += 1
        elif masked[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return end - 1


def _split_top(s: str, sep: str = ",") -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _paren_group(s: str, open_at: int) -> tuple[str, int]:
    depth = 0
    for j in range(open_at, len(s)):
        if s[j] == "(":
            depth += 1
        elif s[j] == ")":
            depth -= 1
            if depth == 0:
                return s[open_at + 1:j], j + 1
    return s[open_at + 1:], len(s)


_LOCATIONS = {"memory", "calldata", "storage", "indexed", "payable"}


def _parse_params(text: str) -> list[Param]:
    out = []
    for p in _split_top(text):
        p = re.sub(r"\s*\[\s*", "[", re.sub(r"\s*\]", "]", p))
        toks = p.split()
        if not toks:
            continue
        ty = toks[0]
        if ty.startswith("mapping"):
            out.append(Param(p, ""))
            continue
        rest = [t for t in toks[1:] if t not in _LOCATIONS]
        out.append(Param(ty, rest[-1] if rest else ""))
    return out


def _line_of(offsets: list[int], pos: int) -> int:
    lo, hi = 0, len(offsets)
    while lo < hi:
        mid = (lo + hi) // 2
        if offsets[mid] <= pos:
            lo = mid + 1
        else:
            hi = mid
    return lo  # 1-based line number


def parse_source(src: str) -> list[Decl]:
    """All contracts and their members (plus file-level declarations) in one Solidity file."""
    masked, docs = _mask(src)
    offsets = [0] + [m.end() for m in re.finditer("\n", src)]
    decls: list[Decl] = []
    doc_iter = sorted(docs)
    starts = [d[0] for d in doc_iter]  # comments do not overlap, so bisecting the starts finds a range

    def same_line(a: int, b: int) -> bool:
        return "\n" not in src[a:b]

    def doc_before(prev_end: int, s: int) -> Doc:
        # A plain comment on the same line after the previous statement is that one's (see trailing).
        found = [d for d in doc_iter[bisect_left(starts, prev_end):bisect_left(starts, s)]
                 if d[1] <= s and (d[3] or prev_end == 0 or not same_line(prev_end, d[0]))]
        raw = [d[2] for d in found if d[3]]
        if raw:
            return parse_natspec("\n".join(raw))
        # No NatSpec: a plain comment right above the declaration documents it by convention
        # (Uniswap V2 writes `// force reserves to match balances`), but not a licence header.
        plain = [d[2] for d in found if not d[3] and "SPDX-License" not in d[2]]
        return Doc(notice=" ".join(" ".join(plain).split())) if plain else Doc()

    def walk(start: int, end: int, contract: str, ckind: str | None):
        prev = start
        for s, h, e in _statements(masked, start, end):
            header = " ".join(masked[s:h].split())
            doc = doc_before(prev, s)
            prev = e
            line_s, line_e = _line_of(offsets, s), _line_of(offsets, max(s, e - 1))
            m = _CONTAINER.match(header)
            if m and not contract:
                abstract, ck, name, tail = m.groups()
                bases = []
                if tail.startswith("is "):
                    bases = [re.match(r"\s*(\w+)", b).group(1) for b in _split_top(tail[3:]) if re.match(r"\s*\w", b)]
                kind = "abstract" if abstract else ck
                decls.append(Decl("contract", name, name, header, line_s, line_e, doc, contract_kind=kind, bases=bases))
                if h < e - 1:
                    walk(h + 1, e - 1, name, kind)
                continue
            d = _member(header, contract, ckind, doc, line_s, line_e)
            if d is not None:
                if h < e - 1 and d.kind in ("function", "modifier", "constructor", "fallback", "receive"):
                    d.facts = body_facts(src[h:e])
                # `uint public kLast; // reserve0 * reserve1, as of ...`: Uniswap documents state this way.
                later = (doc_iter[j] for j in range(bisect_left(starts, e), len(doc_iter)))
                trail = [t for a, b, t, nat in takewhile(lambda d: d[0] < end and same_line(e, d[0]), later)
                         if not nat]
                if trail and d.doc.empty():
                    d.doc = Doc(notice=" ".join(" ".join(trail).split()))
                decls.append(d)

    walk(0, len(masked), "", None)
    return decls


def _member(header: str, contract: str, ckind: str | None, doc: Doc, ls: int, le: int) -> Decl | None:
    first = header.split(" ", 1)[0].split("(", 1)[0]
    if first in ("pragma", "import", "using"):
        return None
    if first in ("function", "modifier", "event", "error", "constructor", "fallback", "receive"):
        if first in ("function", "modifier", "event", "error"):
            m = _IDENT.match(header, len(first) + 1) if len(header) > len(first) else None
            name = m.group(0) if m else first
        else:
            name = first
        po = header.find("(")
        params, after = (_paren_group(header, po) if po >= 0 else ("", len(header)))
        tail = header[after:]
        words = set(re.findall(r"\w+", tail.split("returns")[0]))
        vis = next((v for v in _VISIBILITY if v in words), None)
        if first == "function" and vis is None:
            vis = "external" if ckind == "interface" else ("internal" if not contract else "public")
        if first in ("event", "error"):
            vis = "public"
        mut = next((v for v in _MUTABILITY if v in words), None)
        kind = first
        return Decl(kind, name, contract, header, ls, le, doc, _parse_params(params), vis, mut)
    if first == "struct":
        name = header.split()[1] if len(header.split()) > 1 else "struct"
        return Decl("struct", name, contract, header, ls, le, doc)
    if first == "enum":
        name = header.split()[1] if len(header.split()) > 1 else "enum"
        return Decl("enum", name, contract, header, ls, le, doc)
    if first == "type":  # user-defined value type: type X is bytes32;
        m = re.match(r"type\s+(\w+)\s+is\s+(\w+)", header)
        if m:
            return Decl("type", m.group(1), contract, header, ls, le, doc, var_type=m.group(2))
        return None
    if not contract:
        return None
    # State variable or constant: <type> [attrs] name [= value];
    left = re.split(r"=(?!>)", header, maxsplit=1)[0].strip()
    if left.startswith("mapping"):
        inner, after = _paren_group(left, left.find("("))
        ty, rest = f"mapping({inner})", left[after:]
    else:
        parts = left.split()
        if not parts:
            return None
        ty, rest = parts[0], " ".join(parts[1:])
    words = rest.split()
    if not words or not _IDENT.fullmatch(words[-1]):
        return None
    vis = next((v for v in _VISIBILITY if v in words), "internal")
    mut = "constant" if "constant" in words else ("immutable" if "immutable" in words else None)
    return Decl("variable", words[-1], contract, header, ls, le, doc, visibility=vis, mutability=mut, var_type=ty)


def struct_fields(src_body: str) -> list[Param]:
    return [p for p in _parse_params(src_body.replace(";", ",")) if p.name]


def parse_structs(src: str) -> dict[str, list[Param]]:
    """Struct name -> fields, used to canonicalise tuple parameter types for selectors."""
    masked, _ = _mask(src)
    out = {}
    for m in re.finditer(r"\bstruct\s+(\w+)\s*\{", masked):
        close = _match_brace(masked, m.end() - 1, len(masked))
        out[m.group(1)] = struct_fields(masked[m.end():close])
    return out


def canonical_type(ty: str, structs: dict[str, list[Param]], enums: set[str], udvts: dict[str, str], depth: int = 0) -> str | None:
    """ABI canonical type of a Solidity type as written; None when it cannot be resolved."""
    m = re.match(r"^([\w.]+)((?:\[\d*\])*)$", ty)
    if not m or depth > 8:
        return None
    base, arr = m.groups()
    base = base.split(".")[-1]
    if base == "uint":
        base = "uint256"
    elif base == "int":
        base = "int256"
    elif base == "byte":
        base = "bytes1"
    elif base in ("fixed", "ufixed"):
        base += "128x18"
    elif _ELEMENTARY.match(base):
        pass
    elif base in udvts:
        base = udvts[base]
    elif base in enums:
        base = "uint8"
    elif base in structs:
        inner = [canonical_type(f.type, structs, enums, udvts, depth + 1) for f in structs[base]]
        if any(t is None for t in inner):
            return None
        base = "(" + ",".join(inner) + ")"
    elif base[:1].isupper():
        base = "address"  # a contract or interface type
    else:
        return None
    return base + arr
