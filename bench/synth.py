"""Synthetic corpora for the benchmarks, built deterministically from the shipped corpus.

``make_corpus(n)`` -> list of (title, abstract) with ``n`` distinct normalised titles: titles
recombine the shipped titles' words (a method-style name, a head and a tail phrase), abstracts
recombine the shipped abstracts' sentences, so the text looks like the real corpus to the
taxonomy classifier and to the near-duplicate finder (titles share words, not whole phrases).
``write_daily_papers`` / ``write_jsonl`` write them in the two source formats, with about one
listing in seven repeated (another page lists the paper again), as in the shipped corpus.
"""
from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from surveylib.corpus import normalize_title  # noqa: E402
from surveylib.sources import ingest  # noqa: E402

PAGE_SIZE = 100          # listings per Daily Papers page file
REPEAT_EVERY = 7         # one listing in seven is a repeat of an earlier paper
HEADER = "New\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"


def _shipped():
    corpus, _ = ingest(sorted((REPO / "bib" / "sources").glob("*.txt")), root=REPO)
    return list(corpus["title"]), list(corpus["abstract"])


def make_corpus(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """``n`` (title, abstract) pairs with distinct normalised titles; same ``n`` and seed, same output."""
    titles, abstracts = _shipped()
    rng = random.Random(seed)
    parts: list[list[str]] = [[], [], []]   # first, middle and last third of each title
    names = []
    for t in titles:
        name, _, rest = t.partition(": ")
        if rest and " " not in name.strip():
            names.append(re.sub(r"[^A-Za-z0-9-]", "", name)[:16] or "Model")
        if not rest:
            rest = t
        words = rest.split()
        a, b = len(words) // 3, 2 * len(words) // 3
        for i, chunk in enumerate((words[:a], words[a:b], words[b:])):
            if chunk:
                parts[i].append(" ".join(chunk))
    sentences = [s.strip() for a in abstracts for s in re.split(r"(?<=[.!?])\s+", a) if len(s.strip()) > 30]
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    while len(out) < n:
        name = rng.choice(names) + rng.choice(["", "-2", "-X", "-Lite", "-Pro", "++", "-V", "Net"])
        title = f"{name}: {rng.choice(parts[0])} {rng.choice(parts[1])} {rng.choice(parts[2])}"
        norm = normalize_title(title)
        if norm in seen:
            continue
        seen.add(norm)
        abstract = " ".join(rng.sample(sentences, rng.randint(5, 9)))
        out.append((title, abstract))
    return out


def listings(corpus: list[tuple[str, str]], seed: int = 11) -> list[tuple[str, str]]:
    """The corpus as listed across pages: every paper once, plus repeats of earlier ones
    (about one in seven, title case changed as pages do), in a fixed order."""
    rng = random.Random(seed)
    listed = []
    for i, (title, abstract) in enumerate(corpus):
        listed.append((title, abstract))
        if i and i % REPEAT_EVERY == 0:
            t, a = corpus[rng.randrange(i)]
            listed.append((t.upper() if rng.random() < 0.5 else t, a))
    return listed


def write_daily_papers(corpus, folder: Path) -> list[Path]:
    """Daily Papers page files (``PAGE_SIZE`` listings each) in ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    listed = listings(corpus)
    paths = []
    for page, start in enumerate(range(0, len(listed), PAGE_SIZE)):
        day = f"{['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun'][page % 6]} {page % 28 + 1}"
        body = "\n\n".join(f"{t}\n\n{a}" for t, a in listed[start:start + PAGE_SIZE])
        path = folder / f"page_{page:05d}.txt"
        path.write_text(f"{HEADER}{day}\n\n{body}\n", encoding="utf-8")
        paths.append(path)
    return paths


def write_jsonl(corpus, path: Path) -> list[Path]:
    """One JSON Lines file with every listing; returns ``[path]``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for title, abstract in listings(corpus):
            fh.write(json.dumps({"title": title, "abstract": abstract}, ensure_ascii=False) + "\n")
    return [path]
