"""Query analysis and ranking: dense + BM25 fused, then re-ranked with what the question asks for.

Plain fusion found the right member in the top 100 but not the top 5. The re-ranker adds what
the question says beyond its words: the kind it asks for (something logged = event, a revert =
error), everyday wording bridged to identifiers (spend on my behalf = allowance/transferFrom),
names written in the question, and a preference for the public API over internal helpers.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import numpy as np

from index._chunks import Chunk, name_parts, negated_words, tokens

# Everyday wording -> identifier vocabulary: general Solidity/ERC/DeFi terms, not per-question.
BRIDGE: list[tuple[str, str]] = [
    (r"\bspend\w*|\bpull\w* (?:from|my|tokens)|on my behalf|allowed to (?:move|take|use|pull)", "allowance approve transferFrom spender"),
    (r"\blet\b.*\b(?:move|spend|use|take|pull|manage)\b", "approve allowance"),
    (r"\bapprov\w*|\bpermission", "approve allowance"),
    (r"signature|\bsigned\b|gasless|without (?:sending |paying )?(?:an? )?(?:approval )?transaction", "permit signature"),
    (r"\bsigner|who signed|signed (?:a|the) message", "recover signer ecdsa"),
    (r"creator|royalt\w*|resal\w*|resold|secondary sale", "royalty royaltyInfo"),
    (r"\blogged|\blog\b|\bemit\w*|notif\w*|\bevent", "event emit"),
    (r"\brevert\w*|\berror\b|\bfails?\b|custom error", "error revert"),
    (r"isn'?t (?:the |an? )?(?:owner|admin|allowed)|not (?:allowed|authori[sz]ed|permitted)|without (?:permission|the role)|unauthori[sz]ed", "unauthorized"),
    (r"\bnfts?\b|collectible|non-fungible", "erc721 token"),
    (r"game items?|item types?|multi-token|semi-fungible", "erc1155"),
    (r"\bvaults?\b|\bshares?\b", "erc4626 vault shares assets"),
    (r"\bdao\b|proposal|\bballot", "governor proposal"),
    (r"\bvot(?:e|es|ing)\b", "vote castVote votes"),
    (r"explanation|justification|\breason|\bcomment", "reason"),
    (r"timelock|waiting period|\bdelay\w*", "timelock delay"),
    (r"\bhow long\b", "delay period duration"),
    (r"\bqueue\w*", "schedule queue"),
    (r"paus\w*|emergency|circuit breaker|frozen|\bstopped\b", "pause paused pausable"),
    (r"\bswap\w*|\btrad\w*|exchange (?:for|into)", "swap"),
    (r"\bpools?\b", "pair pool"),
    (r"liquidity|\blp\b", "liquidity"),
    (r"\bowner\w*|\badmin\w*|ownership|control of", "owner ownable ownership"),
    (r"\bmanag\w*", "admin"),
    (r"\bthe most\b|\bmaximum\b|\blargest\b|\bupper (?:limit|bound)|\bat most\b", "max"),
    (r"\bin total\b|\btotal\b", "total supply totalSupply"),
    (r"how many\b(?!.*\b(?:would|will|should)\b)", "length count"),
    (r"role\b", "role accesscontrol"),
    (r"(?:give|grant|assign|add)\b.*role|role\b.*\bto (?:an?|another|some)", "grant role grantRole"),
    (r"allowlist|whitelist|airdrop|merkle|\bproof\b", "merkle proof verify"),
    (r"\bsend\w*|\bmov\w*|\bgive\b(?! up)|transferr?\w*", "transfer"),
    (r"give up|renounc\w*|abandon\w*|nobody|no one|no longer|\bdrop\w*|\bresign\w*|\bleave\b|\bquit\b", "renounce"),
    (r"never (?:been )?(?:minted|created|issued)|does(?:n't| not) exist|nonexist\w*|non-existent", "nonexistent"),
    (r"\boutputs?\b", "out amountOut"),
    (r"\binputs?\b", "in amountIn"),
    (r"\bhops?\b|\bpath\b|multi-?pair|\broute\b", "path amounts"),
    (r"multipl\w*|\btimes\b", "mul"),
    (r"divid\w*|division", "div"),
    (r"overflow\w*|underflow\w*", "overflow safe"),
    (r"\baverage\b|\bmean\b", "average"),
    (r"absolute value", "abs"),
    (r"logarithm", "log"),
    (r"\bburn\w*|destroy\w*", "burn"),
    (r"\bmint\w*|create new tokens|issue new", "mint"),
    (r"total (?:amount|number|supply)|how many tokens exist|in circulation", "totalSupply supply"),
    (r"\bbalances?\b|how (?:much|many)\b.*\b(?:hold|own|have)\b", "balanceOf balance"),
    (r"\bquot\w*|how (?:much|many)\b.*\bwould\b|would i (?:get|receive)|i'?d (?:get|receive|end up)|\bestimat\w*|end up with|\bprice", "quote preview"),
    (r"\bwrap\w*|\bunwrap\w*|\beth (?:in)?to weth|\bweth back (?:in)?to eth", "weth deposit withdraw"),
    (r"\bfees?\b", "fee"),
    (r"flash|borrow\w*|\blend\w*|\bloans?\b", "flash loan flashLoan"),
    (r"operator|approve all|all (?:of )?my", "operator setApprovalForAll isApprovedForAll"),
    (r"delegat\w*|voting power", "delegate votes"),
    (r"re-?entran\w*|re-?enter\w*|called again|still running|call\w* back into", "nonReentrant reentrancy reentrant lock"),
    (r"don'?t return a bool|non-standard|usdt|safe(?:ly)? (?:send|transfer)", "safeTransfer safeerc20"),
    (r"typed data|eip-?712|domain separator", "eip712 domainSeparator"),
    (r"\bcap(?:ped)?\b|maximum supply|max supply", "cap"),
    (r"upgrad\w*", "upgradeTo implementation proxy"),
    (r"interface (?:id|support)|supports? (?:an? |the )?(?:given )?interface|implements (?:an? |the )?(?:given )?interface|erc-?165", "supportsInterface erc165"),
    (r"\block\w*|forever|\bminimum\b", "minimum"),
    (r"defined|constant|hard-?coded", "constant"),
    (r"\bdeadline|expir\w*", "deadline"),
    (r"\bnonce", "nonces nonce"),
    (r"\beth\b|\bether\b|native", "eth"),
    (r"\bwithdraw\w*|redeem\w*|take\b.*\bout\b|back out|cash out|\bget\b.*\bback\b", "withdraw redeem remove"),
    (r"\bdeposit\w*|\bput\b.*\binto\b", "deposit"),
    (r"\bhash\w*", "hash"),
    (r"\bclone\w*|minimal[- ]proxy|\bcop(?:y|ies) of\b", "clone"),
    (r"\bcheck\w*|verif\w*|valid\w*", "verify check isValid"),
    (r"fixed amount of|exact amount of|exactly", "exact"),
    (r"several|multiple|\bmany\b.*\bat once|in (?:one|a single) (?:call|transaction)|\bbatch", "batch"),
    (r"\bnotify|callback|\band call\b|in the same transaction", "call"),
    (r"square root", "sqrt"),
    (r"\bid\b|identif\w*", "id"),
    (r"\breserves?\b", "reserves getReserves"),
    (r"\bwho (?:\w+ )?(?:holds?|owns?)\b", "owner ownerOf"),
    (r"\bcollection\b", "erc721 nft"),
    (r"\b(?:entire|whole) collection|\bevery (?:one|nft|token) (?:i|you) (?:own|hold)", "operator setApprovalForAll"),
    (r"\bidea\b|up for (?:a )?vote", "propose proposal"),
    (r"brand[- ]new|\blaunch\w*|newly (?:created|listed)|\bnew (?:pool|pair|market)", "create new"),
    (r"\bexcess\b|\bextra tokens\b|\bsurplus\b|\bleftover\b", "skim excess"),
    (r"out of sync|no longer match|\bresync\w*", "sync"),
    (r"\bcash\w* (?:\w+ )?in\b", "redeem remove withdraw"),
    (r"\bpicture|\bimage|artwork|\bmetadata", "tokenURI uri metadata"),
    (r"\bnominat\w*|\bnext owner|\bproposed (?:new )?owner", "pending pendingOwner"),
    (r"\btax\w*|takes? a cut|deflationar\w*|fee[- ]on[- ]transfer|on every transfer", "fee transfer supporting"),
    (r"running (?:total|sum)|accumulat\w*|cumulative|time-weighted|\btwap\b", "cumulative price"),
    (r"(?:remov\w*|pull\w*|withdraw\w*|take\w*) (?:\w+ )?(?:\w+ )?liquidity", "burn remove liquidity"),
    (r"\bseed\w* (?:a|the|my|an?) (?:\w+ )?(?:\w+ )?pool|provid\w* liquidity|\bfund (?:a|the) pool", "add liquidity"),
]
_BRIDGE = [(re.compile(p, re.I), t.split()) for p, t in BRIDGE]

# The kind of member a question asks for, from its wording.
KIND_HINTS: list[tuple[str, str]] = [
    ("event", r"\blogged|\blogs?\b|\bemit\w*|\bevents?\b|notif\w*|\blistens?\b"),
    ("error", r"\brevert\w*|\berrors?\b(?! code)|custom error|\bfails? with"),
    ("modifier", r"\bmodifiers?\b|only (?:the )?\w+ can call|guard\w* (?:a |the )?function|\btack\w* on|nobody but|no one but"
                 r"|only (?:accounts?|addresses|holders?|the \w+) (?:\w+ )?(?:\w+ )?(?:can|should|may) (?:be able to )?call"),
    ("variable", r"\bconstant\b|where is (?:that|the|this) (?:amount|value|number) defined|hard-?coded"),
]
_KIND_HINTS = [(k, re.compile(p, re.I)) for k, p in KIND_HINTS]
_IDENT_IN_QUERY = re.compile(r"\b(?:[a-z]+[A-Z]\w*|[A-Z][a-z]+[A-Z]\w*|[A-Z]{2,}\w*|_\w+)\b")
# Swap direction (Uniswap naming: swapExactTokensForETH fixes the input, swapTokensForExactETH
# the output): "as many as possible" / "spend exactly" vs "receive exactly" / "as few as possible".
_EXACT_OUT = re.compile(r"(?:receive|get|buy|want|end up with|obtain)\s+(?:an?\s+|the\s+)?(?:exact|exactly|fixed|specific|precise)"
                        r"|as (?:few|little)\b.*\bas possible|at most", re.I)
_EXACT_IN = re.compile(r"(?:spend|sell|swap|trade|pay|put in|use|send)\s+(?:an?\s+|the\s+|my\s+)?(?:exact|exactly|fixed|specific|precise)"
                       r"|as (?:many|much)\b.*\bas possible|at least", re.I)
_VERSION = re.compile(r"V(\d)(?!\d)")
_CALLBACK = re.compile(r"on[A-Z]")  # onERC721Received, onFlashLoan: hooks a contract implements
_TEST_PATH = re.compile(r"/(?:test|mocks?|examples?)/")


@dataclass
class Weights:
    """Fitted by random search (hill-climbing, 300 steps from the previous optimum) on 960 fresh
    questions (index/adapters/train18-25) with the round-2 adapter, which had not been trained on
    them: recall@1 there 0.536 -> 0.566, and on the 120 held-out check questions (blind sets 6-7,
    Uniswap V3/solmate) 0.692 -> 0.700. `ident` is kept out of the search: those questions never
    name the member, users do. A second search from there fitted its own questions better and the
    check worse (0.675), so it was not taken. The round-4 adapter ranked far better on its own
    (dense-only recall@1 on the benchmark's unseen sets 0.58 -> 0.67), so `dense` and `lexical`
    were then moved (3.34 -> 4.2, 1.02 -> 0.7) on 960 more fresh questions (train34-41, which
    round 4 had not trained on): recall@1 there 0.653 -> 0.674, check unchanged at 0.783. A full
    search there reached 0.695 but lost the check (0.758), so it was not taken. For round 5, a
    grid over `dense` (3.5-6) and `lexical` (0.5-0.9) moved its fresh questions (train42-49) by
    at most a point, and a stronger `negation` cost them, so nothing changed."""

    rrf_k: float = 12.0
    dense: float = 4.2
    lexical: float = 0.7
    kind: float = 0.191  # member kind the question asks for
    kind_miss: float = 0.002  # penalty when the question asks for a kind and this is another
    unasked_kind: float = 1.77  # an event/error when the question asks for neither
    ident: float = 1.5  # a name written in the question is the member (kept high: eval questions never name it, users do;
    # raised (0.75 -> 1.0 -> 1.5) with the dense weight so that it still outranks a one-place dense lead)
    context: float = 0.478  # the question names the contract's family (ERC-721, Uniswap pair ...)
    old_version: float = 0.668  # a V1 contract when the question names no version
    direction: float = 1.106  # swap side fixed by the question matches the name
    callback: float = 0.887  # a hook (onXxx) when the question is about calling, not implementing
    writes: float = 0.231  # a state-changing function when the question asks how much/many (a read)
    reads: float = 0.552  # a getter when the question asks how to do something (an action)
    internal: float = 0.515  # internal/private helper outside a library
    underscore: float = 0.146
    test_code: float = 0.159  # test/example/mock contracts
    contract_chunk: float = 3.195  # a whole-contract chunk when a member is wanted
    concepts: float = 0.352  # share of the question's bridged concepts the chunk covers (permit: spend + signature)
    # An error whose doc negates what the question states, or states what it negates. Searches put
    # it at 0.085-0.23 (a few of 960 questions better); kept at 0.3, which puts EnforcedPause above
    # ExpectedPause for "reverted because the token is frozen" (a real-model test).
    negation: float = 0.3
    candidates: int = 100


@dataclass
class Query:
    text: str
    tokens: list[str]
    dense_text: str
    seq: tuple[str, ...] = ()  # stemmed words in order, bridged words in place
    kinds: set[str] = field(default_factory=set)
    idents: set[str] = field(default_factory=set)
    wants_internal: bool = False
    direction: str | None = None  # "in" | "out": which side of a swap the question fixes
    wants_callback: bool = False
    context: frozenset[str] = frozenset()  # the question's own words, plus standards a bridge named
    versions: frozenset[str] = frozenset()  # "Uniswap V2" -> {"2"}
    wants_value: bool = False  # "how many shares would I get": previewDeposit, not deposit
    wants_action: bool = False  # "how can I force the reserves to match": sync, not getReserves
    concepts: tuple[frozenset[str], ...] = ()  # stemmed words of each vocabulary bridge that fired
    eth_side: str | None = None  # "in" | "out": ETH is what the user pays with, or what they get
    negated: frozenset[str] = frozenset()  # words the question says are not so ("while it isn't paused")

    @functools.cached_property
    def affirmed(self) -> frozenset[str]:
        """Words (with bridged ones) the question says without negating them."""
        return frozenset(self.seq) - self.negated


_HOW_MUCH = re.compile(r"\bhow (?:many|much)\b|\bwhich (?!functions?\b|modifiers?\b|events?\b|errors?\b|internal\b)\w+ (?:is|are|does|do|did|has|receives?|holds?)\b", re.I)
# "How do I <verb> ...": an action unless the verb reads, looks up or computes something.
_HOW_DO = re.compile(r"\bhow (?:do|can|should|does|would|could) (?:i|we|you|my contract|a contract|the \w+|an? \w+|someone)\s+(\w+)", re.I)
_READ_VERBS = frozenset("""get read check find look see know tell learn query fetch view compute calculate
convert turn recover hash verify validate quote estimate work figure determine list count compare multiply
divide encode decode""".split())
_NEGATION = re.compile(r"\b(?:without|instead of|rather than)\s+((?:\w+\s+){0,3}\w+)", re.I)


def analyze(text: str, *, bridge: bool = True) -> Query:
    # "without sending an approval transaction": the negated words must not pull `approve` up.
    negated = [(m.start(1), m.end(1)) for m in _NEGATION.finditer(text)]
    in_neg = lambda pos: any(a <= pos < b for a, b in negated)  # noqa: E731
    toks = tokens(" ".join(m.group(0) for m in re.finditer(r"\S+", text) if not in_neg(m.start())))
    placed: list[tuple[int, str]] = []
    for m in re.finditer(r"[A-Za-z_$][\w$-]*|\d+", text):
        if not in_neg(m.start()):
            placed += [(m.start(), p) for p in name_parts(m.group(0).replace("-", ""))]
    placed_words = list(placed)
    extra: list[str] = []
    groups: list[frozenset[str]] = []
    if bridge:
        for rx, add in _BRIDGE:
            m = next((m for m in rx.finditer(text) if not in_neg(m.start()) or "without" in rx.pattern), None)
            if m:
                extra += add
                groups.append(frozenset(t for w in add for t in tokens(w)))
                placed += [(m.start(), p) for w in add for p in name_parts(w)]
    seq = tuple(w for _, w in sorted(placed, key=lambda x: x[0]))
    kinds = {k for k, rx in _KIND_HINTS if any(not in_neg(m.start()) for m in rx.finditer(text))}
    idents = {m.group(0).lower() for m in _IDENT_IN_QUERY.finditer(text)}
    dense = text if not extra else f"{text} ({' '.join(dict.fromkeys(extra))})"
    bridged = [t for w in dict.fromkeys(extra) for t in tokens(w)]
    # Context comes from the question's words; of the bridged words only standards (vault ->
    # erc4626) count, so "owner" bridged to `ownable` does not make Ownable the context.
    context = frozenset(w for _, w in placed_words) | frozenset(t for t in bridged if re.fullmatch(r"erc\d+", t))
    wants_value = bool(_HOW_MUCH.search(text))
    out_, in_ = bool(_EXACT_OUT.search(text)), bool(_EXACT_IN.search(text))
    direction = "out" if out_ and not in_ else ("in" if in_ and not out_ else None)
    return Query(text, toks + [t for t in dict.fromkeys(bridged) if t not in toks], dense, seq, kinds, idents,
                 bool(re.search(r"\binternal\b", text, re.I)), direction,
                 bool(re.search(r"callback|\bhook|\bimplement|\bonreceived|be notified|receiv\w* contract", text, re.I)),
                 context, frozenset(re.findall(r"\b[vV](\d)\b", text)), wants_value,
                 _wants_action(text) and not wants_value, tuple(dict.fromkeys(groups)), _eth_side(text),
                 negated_words(text))


# Words that may stand between the verb and the coin: "spend exactly 1.5 ETH", "get back some plain ETH".
_AMOUNT = r"(?:(?:my|some|native|plain|exactly|exact|about|around|only|just|an?|the|fixed|specific|amount|of|[\d.,]+)\s+){0,4}"
_ETH_IN = re.compile(rf"\b(?:with|using|pay\w*|spend\w*|sell\w*|send\w*|from)\s+{_AMOUNT}(?:eth|ether)\b"
                     r"|\b(?:eth|ether)\s+(?:for|into)\b", re.I)
_ETH_OUT = re.compile(rf"\b(?:for|into|to|get\w*|receiv\w*|back|buy\w*)\s+{_AMOUNT}(?:eth|ether)\b", re.I)


def _eth_side(text: str) -> str | None:
    """Uniswap names put the paid side first (swapETHForExactTokens pays ETH): which is ETH here?"""
    i, o = bool(_ETH_IN.search(text)), bool(_ETH_OUT.search(text))
    return "in" if i and not o else ("out" if o and not i else None)


def _wants_action(text: str) -> bool:
    m = _HOW_DO.search(text)
    return bool(m) and m.group(1).lower() not in _READ_VERBS


# Contract-name words too generic to say which contract a question is about.
_GENERIC = frozenset("i v token contract utils base mock test interface upgradeable".split())


def context_words(words: frozenset[str], contract: str) -> bool:
    """Does the question name this contract's family (erc721, uniswap, governor, timelock ...)?"""
    return any(p in words for p in name_parts(contract) if p not in _GENERIC and not p.isdigit())


def rank(q: Query, chunks: list[Chunk], dense_scores: dict[int, float] | None, lex_scores: np.ndarray | None,
         w: Weights, *, rerank: bool = True) -> list[tuple[int, float]]:
    """(chunk index, score) best first over the union of dense and lexical candidates."""
    ranked_lists = []
    if dense_scores:
        ranked_lists.append((w.dense, sorted(dense_scores, key=dense_scores.get, reverse=True)))
    if lex_scores is not None and len(lex_scores):
        top = np.argpartition(-lex_scores, min(w.candidates, len(lex_scores) - 1))[:w.candidates]
        top = [int(i) for i in top[np.argsort(-lex_scores[top])] if lex_scores[i] > 0]
        ranked_lists.append((w.lexical, top))
    score: dict[int, float] = {}
    for weight, lst in ranked_lists:
        for r, i in enumerate(lst):
            score[i] = score.get(i, 0.0) + weight * w.rrf_k / (w.rrf_k + r + 1)
    if rerank:
        for i in score:
            score[i] += _adjust(q, chunks[i], w)
    return sorted(score.items(), key=lambda x: -x[1])


def _adjust(q: Query, c: Chunk, w: Weights) -> float:
    s = 0.0
    kind = "function" if c.kind == "variable" and c.visibility == "public" and "variable" not in q.kinds else c.kind
    if q.kinds:
        if kind in q.kinds or (c.kind == "variable" and "variable" in q.kinds):
            s += w.kind
        elif c.kind in ("function", "event", "error", "modifier", "variable"):
            s -= w.kind_miss
    elif c.kind in ("event", "error"):
        s -= w.unasked_kind  # "how do I ..." wants something to call, not a log or a revert
    if q.idents:
        # A name in the question is the answer only if it is of the kind asked for; "what error
        # does a nonReentrant function revert with" names the modifier as context.
        if c.member.lower() in q.idents and (not q.kinds or kind in q.kinds):
            s += w.ident
        if c.contract.lower() in q.idents:
            s += w.ident / 2
    if q.concepts:
        s += w.concepts * sum(1 for g in q.concepts if g & c.terms) / len(q.concepts)
    if c.kind == "error" and (c.negated or q.negated):
        # An error's doc is the failed condition: "failed because the contract is (not) paused".
        if c.negated & q.affirmed or (q.negated & c.terms) - c.negated:
            s -= w.negation
    if c.kind != "doc":
        if context_words(q.context, c.contract):
            s += w.context
        v = _VERSION.findall(c.contract)
        if q.versions:
            if v and not set(v) & q.versions:
                s -= w.context  # "Uniswap V2" asked, a V1 contract found
        elif "1" in v:
            s -= w.old_version  # no version asked: a legacy V1 ABI is rarely what is meant
        if q.eth_side and c.member.startswith("swap") and "ETH" in c.member:
            pays_eth = c.member.startswith(("swapETH", "swapExactETH"))
            s += w.direction if pays_eth == (q.eth_side == "in") else -w.direction
        if q.direction and "Exact" in c.member:
            fixed_out = "ForExact" in c.member
            s += w.direction if fixed_out == (q.direction == "out") else -w.direction
    if not q.wants_internal:
        if c.kind in ("function", "variable") and c.visibility in ("internal", "private") and c.contract_kind != "library":
            s -= w.internal
        if c.member.startswith("_"):
            s -= w.underscore
    if q.wants_value and c.kind == "function" and c.mutability not in ("view", "pure"):
        s -= w.writes
    if q.wants_action and (c.kind == "variable" or (c.kind == "function" and (
            c.mutability == "view" or (c.mutability == "pure" and c.contract_kind != "library")))):
        s -= w.reads
    if _CALLBACK.match(c.member) and not q.wants_callback:
        s -= w.callback
    if _TEST_PATH.search(c.source):
        s -= w.test_code
    if c.kind == "contract":
        s -= w.contract_chunk
    return s
