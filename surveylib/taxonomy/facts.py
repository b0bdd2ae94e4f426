"""Facts survey tables compare, each kept with the span of text it was read from.

``extract_facts(title, abstract)`` returns the method name (and where it came from), the code
link, and the numeric claims an abstract states: tokens kept or removed, compression ratio,
speed-up, FLOPs or memory reduction, accuracy retained, benchmark scores. Nothing is inferred:
a claim is a span of the abstract, classified by the words around its number.
"""
from __future__ import annotations

import re

from ..corpus import code_and_project_url, find_urls
from . import scan
from .prefilter import Prefilter

_NUM = r"\d+(?:[.,]\d+)*"
_PCT = rf"{_NUM}\s*(?:%|\\%|percent)"
_RANGE = rf"{_NUM}(?:\s*(?:%|\\%))?\s*(?:-|–|~|to)\s*{_NUM}"
_TOK = r"(?:visual |vision |image |video |audio |speech |patch |redundant |input |frame )?tokens?"
_TIMES = r"(?:x|×|\\times|times)"

# (kind, pattern) in priority order: the first kind that claims a span keeps it.
_CLAIMS: list[tuple[str, re.Pattern]] = [(k, re.compile(p, re.IGNORECASE)) for k, p in [
    ("tokens", rf"\b{_TOK}\s+(?:\w+\s+){{0,2}}?from\s+{_NUM}\s+(?:\w+\s+)?(?:to|into|down to)\s+(?:only\s+|just\s+)?{_NUM}"),
    ("tokens", rf"\bfrom\s+{_NUM}\s+(?:\w+\s+){{0,2}}?to\s+(?:only\s+|just\s+)?{_NUM}\s+{_TOK}"),
    ("tokens", rf"\b{_NUM}\s+{_TOK}\s*(?:to|→|->|down to|into)\s+(?:only\s+|just\s+)?{_NUM}(?:\s+{_TOK})?"),
    ("tokens", rf"\b(?:{_RANGE}|{_PCT})\s+(?:of\s+)?(?:the\s+)?(?:\w+\s+)?{_TOK}"),
    ("tokens", rf"\b(?:only|just|as few as|with)\s+{_NUM}(?:\s*(?:%|\\%))?\s+(?:of\s+)?(?:the\s+)?{_TOK}"),
    ("tokens", rf"\b(?:compress|prun|reduc|drop|merg|remov|discard)\w*\s+(?:\w+\s+){{0,4}}?{_TOK}\s+(?:\w+\s+){{0,2}}?by\s+(?:up to\s+|over\s+|about\s+)?(?:{_RANGE}|{_PCT}|{_NUM}\s*{_TIMES})"),
    ("compression", rf"\b{_NUM}\s*{_TIMES}\s+(?:\w+\s+)?compression|\bcompression (?:ratio|rate) of (?:up to )?{_NUM}\s*{_TIMES}?"),
    ("speedup", rf"\b{_NUM}\s*{_TIMES}\s+(?:\w+\s+){{0,2}}?(?:speed-?ups?|faster|acceleration|throughput|lower latency)"),
    ("speedup", rf"\b(?:speed-?ups?|accelerat\w*|faster)\s+(?:\w+\s+){{0,4}}?(?:of|by|up to)\s+(?:up to\s+)?(?:{_NUM}\s*{_TIMES}|{_PCT})"),
    ("speedup", rf"\b{_PCT}\s+(?:faster|speed-?up|(?:lower|less|reduction in) (?:latency|inference time))"),
    ("speedup", rf"\b{_PCT}\s+of the (?:wall-clock|inference|training) time"),
    ("flops", rf"\b(?:{_RANGE}|{_PCT}|{_NUM}\s*{_TIMES})\s+(?:\w+\s+){{0,2}}?(?:fewer |less |lower |of the )?(?:flops|tflops|gflops|computation(?:al cost)?|compute)\b"),
    ("flops", rf"\b(?:flops|computation(?:al)? cost|compute)\s+(?:\w+\s+){{0,3}}?by\s+(?:up to\s+|over\s+)?(?:{_RANGE}|{_PCT}|{_NUM}\s*{_TIMES})"),
    ("memory", rf"\b(?:{_PCT}|{_NUM}\s*{_TIMES})\s+(?:\w+\s+){{0,2}}?(?:(?:gpu|kv[- ]cache) )?memory"),
    ("memory", rf"\b(?:memory|kv[- ]cache)\s+(?:\w+\s+){{0,3}}?by\s+(?:up to\s+|over\s+)?(?:{_RANGE}|{_PCT}|{_NUM}\s*{_TIMES})"),
    ("retention", rf"\b(?:maintain|retain|preserv|keep|achiev)\w*\s+(?:\w+\s+){{0,3}}?{_PCT}\s+of\s+(?:the\s+)?(?:\w+\s+)?(?:original\s+)?(?:performance|accuracy)"),
    ("score", rf"\b(?:fid|clip score|accuracy|wer|cider|bleu|map|miou|f1|auc)\s+(?:score\s+)?of\s+{_NUM}\s*%?(?:\s+on\s+[\w.-]+)?"),
    ("score", rf"\b{_NUM}\s*(?:%|\\%|points?)\s+(?:\w+\s+){{0,2}}?(?:on|in)\s+(?:the\s+)?[A-Z][\w.-]*[A-Z0-9][\w.-]*"),
]]

_REDUCTION_KINDS = ("tokens", "compression", "flops", "memory")
_METHOD_CALLED = re.compile(
    r"\b(?:propose|introduce|present|develop|design)s?\s+(?:\w+[\s,-]+){0,10}?(?:called|named|termed|dubbed)\s+"
    r"([A-Z][\w.+-]*(?:\s[A-Z0-9][\w.+-]*)?)")
_METHOD_WE = re.compile(
    r"\b(?:we|this paper|this work)\s+(?:propose|introduce|present)s?\s+([A-Z][\w.+-]*[A-Z0-9][\w.+-]*)\b")


_DIGIT = re.compile(r"\d")
_PREFILTER = None
_SCANNER = None


CLAIM_PATTERNS = [regex.pattern for _, regex in _CLAIMS]  # matched ignoring case


def claim_scanner() -> "scan.Scanner":
    """The claim patterns compiled for Hyperscan (once per process)."""
    global _SCANNER
    if _SCANNER is None:
        _SCANNER = scan.Scanner(CLAIM_PATTERNS, caseless=True, locate=False)
    return _SCANNER


def _claim_candidates(texts: list[str], known: list | None = None) -> list[list[int]]:
    """Per text, the claim patterns that can match it: those that do (Hyperscan, large batches of
    ASCII texts) or those whose required words it holds (see :mod:`.prefilter`). ``known``: per
    text, its candidates when a scan already found them (None where not)."""
    global _PREFILTER
    per_text: list[list[int] | None] = [None] * len(texts) if known is None else list(known)
    todo = [i for i, found in enumerate(per_text) if found is None]
    if scan.AVAILABLE and len(todo) >= scan.FAST_MIN:
        scanner = claim_scanner()
        ascii_ = [i for i in todo if texts[i].isascii()]
        for i, found in zip(ascii_, scanner.spans([texts[i] for i in ascii_])):
            per_text[i] = sorted(k for k in found if k not in scanner.unsupported) + scanner.unsupported
        todo = [i for i in todo if per_text[i] is None]
    if todo:
        if _PREFILTER is None:
            _PREFILTER = Prefilter([regex.pattern for _, regex in _CLAIMS])
        for i in todo:
            per_text[i] = []
        for k, cand in enumerate(_PREFILTER.candidates([texts[i].lower() for i in todo])):
            for j in (range(len(todo)) if cand is None else cand.tolist()):
                per_text[todo[j]].append(k)
    return per_text


_NUMBER = re.compile(r"\d[\d.,]*")
CLAIM_WINDOW = 160  # a claim reaches at most this far from its number


def _number_windows(text: str) -> list[tuple[int, int]]:
    """Merged stretches of ``text`` within CLAIM_WINDOW characters of a number, ending at a word end."""
    out: list[list[int]] = []
    n = len(text)
    for m in _NUMBER.finditer(text):
        lo, hi = max(0, m.start() - CLAIM_WINDOW), m.end() + CLAIM_WINDOW
        if hi >= n:
            hi = n
        else:  # never cut a word: a pattern's \w* or \b must see the whole word
            space = text.find(" ", hi)
            hi = n if space < 0 else space
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def extract_claims(text: str, patterns: list[int] | None = None) -> list[dict]:
    """Numeric claims in ``text`` as ``{kind, text, start, end}``, in reading order, spans not overlapping.
    ``patterns``: indices of the claim patterns to try (default: all). Every claim holds a number,
    so the patterns search only the stretches around numbers (the same claims, far less text)."""
    if not text or (patterns is not None and not patterns) or not _DIGIT.search(text):
        return []
    windows = _number_windows(text)
    taken: list[tuple[int, int]] = []
    found = []
    for k in (range(len(_CLAIMS)) if patterns is None else patterns):
        kind, regex = _CLAIMS[k]
        for lo, hi in windows:
            for m in regex.finditer(text, lo, hi):
                s, e = m.span()
                if any(s < te and ts < e for ts, te in taken):
                    continue
                taken.append((s, e))
                found.append({"kind": kind, "text": text[s:e].strip(), "start": s, "end": e})
    return sorted(found, key=lambda c: c["start"])


def method_name(title: str, abstract: str) -> tuple[str, str]:
    """The method's name and where it was read: the title before its colon (``Name: what it does``),
    else a capitalised name the abstract introduces (``we propose X``/``... called X``); else ``""``."""
    head, colon, _ = (title or "").partition(":")
    head = head.strip()
    if colon and head and len(head.split()) <= 4 and not head.lower().startswith(("a ", "an ", "the ", "on ")):
        return head, "title: " + head + ":"
    for regex in (_METHOD_CALLED, _METHOD_WE):
        m = regex.search(abstract or "")
        if m:
            return m.group(1).rstrip(".,;:"), "abstract: " + m.group(0)
    return "", ""


def extract_facts(title: str, abstract: str, claim_patterns: list[int] | None = None) -> dict:
    """Method name, code link and numeric claims of one paper, each with its source span."""
    method, method_source = method_name(title, abstract)
    code_url, _ = code_and_project_url(find_urls(abstract)) if "://" in abstract or "www." in abstract else (None, None)
    claims = extract_claims(abstract, claim_patterns)
    reductions = [c["text"] for c in claims if c["kind"] in _REDUCTION_KINDS]
    speedups = [c["text"] for c in claims if c["kind"] == "speedup"]
    return {
        "method": method,
        "method_source": method_source,
        "code_url": code_url or "",
        "claims": claims,
        "claimed_reduction": "; ".join(reductions),
        "claimed_speedup": "; ".join(speedups),
    }
