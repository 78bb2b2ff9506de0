"""Files -> raw records: Solidity members, ABI entries (every usual artifact shape) and doc sections.

A record is one declaration as found in one file; `_chunks.fold` later merges inherited copies.
Bad files never abort a build: they are reported in `Problem`s next to the records.
"""
from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import keccak

from index import _solidity as sol

DOC_SUFFIXES = {".md", ".markdown", ".txt"}
SKIP_DIRS = {"node_modules", ".git", "__pycache__", ".venv", "cache"}
MAX_FILE_BYTES = 32_000_000


@dataclass
class Record:
    kind: str
    contract: str
    member: str
    signature: str  # human-readable header
    canonical: str | None  # name(type,...) for selector/folding; None for docs and unresolvable types
    package: str  # name@version, "" when the file is not inside a package
    source: str  # package-relative (or index-root-relative) path
    lines: tuple[int, int] | None
    doc: str
    origin: str  # sol | abi | doc
    visibility: str | None = None
    mutability: str | None = None
    contract_kind: str | None = None
    inheritdoc: str | None = None
    params: list[str] = field(default_factory=list)  # parameter names (words for search)
    bases: list[str] = field(default_factory=list)  # for kind == "contract"
    facts: str = ""  # from a Solidity body: what it reverts with and emits

    @property
    def selector(self) -> str | None:
        if not self.canonical or self.kind not in ("function", "event", "error", "variable"):
            return None
        if self.kind in ("function", "variable") and self.visibility not in ("public", "external"):
            return None
        h = keccak(text=self.canonical).hex()
        return "0x" + (h if self.kind == "event" else h[:8])


@dataclass
class Problem:
    path: str
    message: str


def iter_files(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """Expand folders recursively (skipping nested node_modules, VCS and build caches)."""
    files, problems = [], []
    for p in paths:
        p = Path(p)
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                for n in sorted(names):
                    f = Path(root) / n
                    if f.suffix in DOC_SUFFIXES | {".sol", ".json"}:
                        files.append(f)
        else:
            problems.append(Problem(str(p), "no such file or folder"))
    return files, problems


def package_of(path: Path) -> tuple[str, Path | None]:
    """(name@version, package root) of the nearest package.json with a name, else ("", None)."""
    for d in path.resolve().parents:
        found = _package_at(d)
        if found:
            return found, d
    return "", None


@functools.lru_cache(maxsize=4096)
def _package_at(d: Path) -> str:
    pj = d / "package.json"
    if not pj.is_file():
        return ""
    try:
        meta = json.loads(pj.read_text())
    except (OSError, ValueError):
        return ""
    return f"{meta['name']}@{meta.get('version', '0')}" if isinstance(meta, dict) and meta.get("name") else ""


def read_file(path: Path, root: Path | None = None) -> list[Record]:
    """Records of one file; raises OSError/ValueError/UnicodeDecodeError on unreadable input."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
    text = path.read_text(encoding="utf-8")
    pkg, proot = package_of(path)
    base = proot or root or path.parent
    try:
        rel = path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        rel = path.name
    source = f"{pkg.rsplit('@', 1)[0]}/{rel}" if pkg else rel
    if path.suffix == ".sol":
        return solidity_records(text, pkg, source)
    if path.suffix == ".json":
        return abi_records(json.loads(text), path.stem, pkg, source)
    return doc_records(text, path.stem, pkg, source)


# --- Solidity ---------------------------------------------------------------------------

def _strip_comments(s: str) -> str:
    return " ".join(re.sub(r"/\*.*?\*/|//[^\n]*", " ", s, flags=re.S).split())


def solidity_records(text: str, pkg: str, source: str) -> list[Record]:
    decls = sol.parse_source(text)
    structs = sol.parse_structs(text)
    enums = {d.name for d in decls if d.kind == "enum"}
    udvts = {d.name: d.var_type for d in decls if d.kind == "type" and d.var_type}
    # Members carry their container's kind: a library's internal functions are its public API.
    container = {d.name: d.contract_kind for d in decls if d.kind == "contract"}
    out = []
    for d in decls:
        if d.kind in ("type",):
            continue
        canonical = None
        params = [p.name for p in d.params if p.name]
        if d.kind in ("function", "event", "error"):
            types = [sol.canonical_type(p.type, structs, enums, udvts) for p in d.params]
            if all(t is not None for t in types):
                canonical = f"{d.name}({','.join(types)})"
        elif d.kind == "variable" and d.visibility == "public":
            canonical = _getter_canonical(d.name, d.var_type or "", structs, enums, udvts)
        elif d.kind == "modifier":
            canonical = f"{d.name}({','.join(p.type for p in d.params)})"
        elif d.kind in ("constructor", "fallback", "receive"):
            canonical = d.kind
        header = d.header
        out.append(Record(
            kind=d.kind, contract=d.contract or Path(source).stem, member=d.name, signature=header,
            canonical=canonical, package=pkg, source=source, lines=(d.line_start, d.line_end),
            doc=d.doc.render(), origin="sol", visibility=d.visibility, mutability=d.mutability,
            contract_kind=d.contract_kind or container.get(d.contract), inheritdoc=d.doc.inheritdoc if d.doc.inheritdoc else None,
            params=params, bases=d.bases, facts=d.facts,
        ))
    # Headers come from masked text (strings blanked); show the real text without comments.
    lines = text.split("\n")
    for r in out:
        if r.kind != "contract":
            raw = "\n".join(lines[r.lines[0] - 1:r.lines[1]])
            r.signature = _header_text(raw) or r.signature
    return out


def _header_text(raw: str) -> str:
    s = _strip_comments(raw)
    depth = 0
    for i, ch in enumerate(s):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch in "{;" and depth == 0:
            return s[:i].strip()
    return s.strip()


def _getter_canonical(name, ty, structs, enums, udvts) -> str | None:
    """Getter signature of a public state variable: mapping keys and array indexes become inputs."""
    inputs = []
    ty = ty.replace(" ", "")
    while True:
        m = re.match(r"^mapping\((\w+)(?:\w*)=>(.*)\)$", ty)
        if m:
            key = sol.canonical_type(m.group(1), structs, enums, udvts)
            if key is None:
                return None
            inputs.append(key)
            ty = m.group(2)
            continue
        m = re.match(r"^(.*)\[\d*\]$", ty)
        if m:
            inputs.append("uint256")
            ty = m.group(1)
            continue
        break
    return f"{name}({','.join(inputs)})"


# --- ABI JSON -----------------------------------------------------------------------------

def _abi_type(p: dict) -> str:
    t = p.get("type", "")
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in p.get("components", [])) + ")" + t[5:]
    return t


def _abi_shapes(data, stem: str):
    """(contract name, abi list) pairs for bare arrays, Hardhat/Foundry/Truffle/Waffle artifacts
    and solc --combined-json output."""
    if isinstance(data, list):
        if all(isinstance(e, dict) and "type" in e for e in data):
            yield stem, data
        return
    if not isinstance(data, dict):
        return
    if isinstance(data.get("abi"), (list, str)):
        abi = data["abi"]
        yield data.get("contractName") or stem, json.loads(abi) if isinstance(abi, str) else abi
    elif isinstance(data.get("contracts"), dict):
        for key, c in data["contracts"].items():
            if isinstance(c, dict) and isinstance(c.get("abi"), (list, str)):
                abi = c["abi"]
                yield key.rsplit(":", 1)[-1], json.loads(abi) if isinstance(abi, str) else abi


def abi_records(data, stem: str, pkg: str, source: str) -> list[Record]:
    out = []
    for name, abi in _abi_shapes(data, stem):
        for e in abi:
            if not isinstance(e, dict):
                continue
            kind = e.get("type", "function")
            if kind not in ("function", "event", "error", "constructor", "fallback", "receive"):
                continue
            member = e.get("name") or kind
            ins = e.get("inputs", [])
            types = [_abi_type(p) for p in ins]
            canonical = f"{member}({','.join(types)})" if kind in ("function", "event", "error") else kind
            params = ", ".join(
                f"{_abi_type(p)}{' indexed' if p.get('indexed') else ''} {p.get('name', '')}".strip() for p in ins)
            head = f"{kind} {member}({params})" if kind in ("function", "event", "error") else f"{kind}({params})"
            mut = e.get("stateMutability") or ("view" if e.get("constant") else None)
            if kind == "function":
                head += " external" + (f" {mut}" if mut and mut != "nonpayable" else "")
                outs = e.get("outputs") or []
                if outs:
                    head += " returns (" + ", ".join(f"{_abi_type(p)} {p.get('name', '')}".strip() for p in outs) + ")"
            out.append(Record(
                kind=kind, contract=name, member=member, signature=head, canonical=canonical, package=pkg,
                source=source, lines=None, doc="", origin="abi", visibility="external" if kind == "function" else "public",
                mutability=mut, params=[p.get("name", "") for p in ins if p.get("name")],
            ))
    return out


# --- Markdown / text docs -----------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def doc_records(text: str, stem: str, pkg: str, source: str, max_chars: int = 1500) -> list[Record]:
    """One record per heading section (paragraph-split when long); fenced code keeps its '#'."""
    out: list[Record] = []
    lines = text.split("\n")
    sections: list[tuple[str, int, int]] = []  # (title path, start, end) 1-based inclusive
    trail: list[str] = []
    start, title, fenced = 1, stem, False
    for i, line in enumerate(lines, 1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        m = None if fenced else _HEADING.match(line)
        if m:
            if i > start:
                sections.append((title, start, i - 1))
            level = len(m.group(1))
            trail = trail[:level - 1] + [m.group(2)]
            title, start = " > ".join(trail), i
    sections.append((title, start, len(lines)))
    for title, s, e in sections:
        body = "\n".join(lines[s - 1:e]).strip()
        if not body:
            continue
        # Long sections are split on blank lines so a chunk stays within the embedder's window.
        cur, cs = [], s
        for j in range(s, e + 1):
            cur.append(lines[j - 1])
            if (not lines[j - 1].strip() and sum(len(x) for x in cur) > max_chars) or j == e:
                piece = "\n".join(cur).strip()
                if piece:
                    out.append(Record(kind="doc", contract=stem, member=title.split(" > ")[-1], signature=title,
                                      canonical=None, package=pkg, source=source, lines=(cs, j), doc=piece,
                                      origin="doc"))
                cur, cs = [], j + 1
    return out
