"""surveylib.corpus: title normalisation, dedup (merge) versus near-duplicates (report only)."""
from __future__ import annotations

import random
import re
import unicodedata
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from surveylib.corpus import (CORPUS_COLUMNS, IngestReport, Listings, Paper, code_and_project_url, dedupe, find_urls,
                              find_urls_many, merge_listings, near_duplicates, normalize_title, normalize_titles,
                              paper_id, to_frame)


@pytest.mark.parametrize("a, b", [
    ("LLaVA: Visual Instruction Tuning", "llava visual instruction tuning"),        # case, punctuation
    ("Token  Merging\tfor\nMLLMs", "Token Merging for MLLMs"),                    # whitespace
    ("Vision–Language Models — a survey", "vision language models: a survey"),    # dashes
    ("Caf\u00e9 Models", "Cafe\u0301 Models"),                                     # NFC vs NFD
    ("Café Models", "Cafe Models"),                                               # accents dropped
    ("ＬＬａＶＡ－ＮｅＸＴ", "LLaVA-NeXT"),                                            # full-width (NFKC)
    ("Straße", "STRASSE"),                                                         # case folding
    ("{BERT}: Pre-training", "BERT Pre-training"),                                # BibTeX braces
    ("Qwen2-VL", "qwen2 vl"),
])
def test_normalize_title_matches_variants(a, b):
    assert normalize_title(a) == normalize_title(b)


@pytest.mark.parametrize("a, b", [
    ("Llama 2", "Llama 3"),
    ("Qwen2-VL", "Qwen2.5-VL"),
    ("GPT-4V in the Wild", "GPT-4 in the Wild"),
    ("Phi-3 Technical Report", "Phi 3.5 Technical Report"),
    ("Multimodal Models", "Multimodal Model"),
])
def test_normalize_title_keeps_digits_and_words_significant(a, b):
    assert normalize_title(a) != normalize_title(b)


def test_normalize_title_output_is_stable_and_plain():
    out = normalize_title("  Éclair: A ‘Tiny’ VLM!!  ")
    assert out == "eclair a tiny vlm"
    assert normalize_title(out) == out
    assert unicodedata.is_normalized("NFC", out)
    assert paper_id("LLaVA: Visual Instruction Tuning") == paper_id("llava -- visual instruction tuning")
    assert len(paper_id("x")) == 12


def _paper(title, abstract="An abstract.", where="s.txt:1", **kw):
    return Paper(title=title, abstract=abstract, provenance=[where], **kw)


def test_dedupe_merges_same_title_keeps_first_text_and_all_provenance():
    report = IngestReport()
    papers = [
        _paper("Llama 2: Open Models", "First abstract.", "a.txt:5"),
        _paper("LLAMA 2 -- open models", "", "b.txt:9", year=2023, authors=["H. T."]),
        _paper("Llama 3: Open Models", "Other.", "c.txt:1"),
    ]
    out = dedupe(papers, report)
    assert [p.title for p in out] == ["Llama 2: Open Models", "Llama 3: Open Models"]
    assert out[0].provenance == ["a.txt:5", "b.txt:9"]
    assert out[0].abstract == "First abstract."
    assert out[0].year == 2023 and out[0].authors == ["H. T."]  # filled from the later listing
    assert report.duplicates_merged == 1 and report.issues == []
    # The input is not modified.
    assert papers[0].provenance == ["a.txt:5"]


def test_dedupe_reports_conflicting_abstracts():
    report = IngestReport()
    dedupe([_paper("Same", "One text.", "a:1"), _paper("same", "Another text.", "b:2")], report)
    (issue,) = report.issues
    assert issue.where == "b:2" and not issue.skipped and "a:1" in issue.reason


def test_dedupe_takes_an_abstract_when_the_first_listing_has_none():
    out = dedupe([_paper("T", "", "a:1"), _paper("t", "Real abstract.", "b:1")])
    assert out[0].abstract == "Real abstract."


def test_near_duplicates_are_reported_never_merged():
    titles = [
        "Visual Instruction Tuning for Multimodal Models",
        "Visual Instruction Tunning for Multimodal Models",   # typo: a near-duplicate
        "Llama 2: Open Foundation and Fine-Tuned Chat Models",
        "Llama 3: Open Foundation and Fine-Tuned Chat Models",  # distinct paper, still a candidate
        "Something Else Entirely",
    ]
    pairs = near_duplicates(titles)
    found = {(a, b) for a, b, _ in pairs}
    assert (titles[0], titles[1]) in found
    assert (titles[2], titles[3]) in found
    assert all(a != b and score >= 90 for a, b, score in pairs)
    assert not any("Something Else" in a or "Something Else" in b for a, b, _ in pairs)
    # dedupe keeps all of them: candidates are for the author to judge.
    assert len(dedupe([_paper(t) for t in titles])) == 5


def test_near_duplicates_threshold_and_exact_duplicates():
    assert near_duplicates(["Alpha Beta Gamma", "alpha beta gamma"]) == []  # same normalised title
    assert near_duplicates(["Token Merging Works", "Token Merging Fails"], threshold=99) == []


def test_near_duplicates_scale_is_blocked():
    # Thousands of distinct titles sharing no block are not compared all-pairs (finishes quickly).
    titles = [f"Distinct Paper Number {i} About Topic {i * 7}" for i in range(3000)]
    assert isinstance(near_duplicates(titles), list)


def test_urls_and_frame():
    text = "Code: https://github.com/org/repo. Project page (https://org.github.io/page), www.example.com/x."
    assert find_urls(text) == ["https://github.com/org/repo", "https://org.github.io/page", "https://www.example.com/x"]
    assert code_and_project_url(find_urls(text)) == ("https://github.com/org/repo", "https://org.github.io/page")
    frame = to_frame([_paper("A", text, year=2024), _paper("B", "none")])
    assert list(frame.columns) == CORPUS_COLUMNS
    assert frame.loc[0, "code_url"] == "https://github.com/org/repo"
    assert frame.loc[1, "urls"] == [] and frame["year"].dtype.name == "Int64"


# --- the bulk paths give what the one-at-a-time definitions give --------------------------

_PIECES = ["LLaVA", "2", "-", ":", " ", "  ", "\t", "Café", "Straße", "ＬＬａＶＡ", "{BERT}", "x", "Qwen2.5", "—", "_",
           "é", "\u0301", "!", "(", ")", ".", ""]


def test_normalize_titles_equals_normalize_title_one_by_one():
    rng = random.Random(1)
    for _ in range(300):
        titles = ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.2:
            titles.append("Line\nBreak")  # not for the joined buffer: done one by one
        assert normalize_titles(titles) == [normalize_title(t) for t in titles], titles


def _near_duplicates_reference(titles, threshold=90.0, max_block=400):
    """The near-duplicate search as first written: every pair of every block through cdist."""
    norms = [normalize_title(t) for t in titles]
    blocks = defaultdict(list)
    for i, n in enumerate(norms):
        words = n.split()
        blocks[("head", *words[:2])].append(i)
        blocks[("tail", *words[-2:])].append(i)
        blocks[("nodigits", re.sub(r"\d+", "#", n))].append(i)
    found = {}
    for block in blocks.values():
        if 2 <= len(block) <= max_block:
            strings = [norms[i] for i in block]
            scores = cdist(strings, strings, scorer=fuzz.ratio, score_cutoff=threshold)
            for a, b in zip(*np.nonzero(np.triu(scores, k=1))):
                i, j = block[a], block[b]
                if norms[i] != norms[j]:
                    found[(min(i, j), max(i, j))] = float(scores[a, b])
    return [(titles[i], titles[j], s) for (i, j), s in sorted(found.items())]


def _typo(rng, title):
    chars = list(title)
    for _ in range(rng.randint(1, 4)):
        k = rng.randrange(len(chars) + 1)
        if rng.random() < 0.5 and chars:
            del chars[min(k, len(chars) - 1)]
        else:
            chars.insert(k, rng.choice("abcé 1"))
    return "".join(chars)


@pytest.mark.parametrize("seed", range(4))
def test_near_duplicates_equal_the_all_pairs_reference(seed):
    # Blocks past 48 titles go through the screen, smaller ones through pairs: both are here.
    rng = random.Random(seed)
    heads = ["Visual Tokens", "Token Merging", "Qwen2 VL", "Café Models"]
    tails = ["for Multimodal Models", "in Large Language Models", "at Scale"]
    middle = "sparse dense fast slow robust efficient adaptive dynamic unified hybrid 3 7b".split()
    titles = [f"{rng.choice(heads)} {' '.join(rng.sample(middle, rng.randint(1, 5)))} {rng.choice(tails)}"
              for _ in range(260)]
    titles += [_typo(rng, rng.choice(titles)) for _ in range(60)]
    threshold = rng.choice([90.0, 85.0, 95.0])
    got = near_duplicates(titles, threshold)
    assert got == _near_duplicates_reference(titles, threshold)
    assert any(score < 100 for _, _, score in got)  # the test finds pairs, not only nothing
    assert near_duplicates(titles, threshold, max_block=30) == _near_duplicates_reference(titles, threshold, 30)


def test_find_urls_many_equals_find_urls_one_by_one():
    rng = random.Random(2)
    bits = ["see ", "https://github.com/a/b", "HTTP://x.org/p", "www.example.com/x", "WwW.Site.io", "://", "http",
            ".", ", ", "(", ")", "\n", "\xa0", "é", "\u017f", "httpſ://odd.org", "<", "'", "code: ", "ftp://no"]
    texts = ["".join(rng.choice(bits) for _ in range(rng.randint(0, 12))) for _ in range(500)]
    expected = [find_urls(t) for t in texts]
    assert find_urls_many(texts) == expected
    assert find_urls_many(texts, chunk=7) == expected
    assert any(expected) and not all(expected)
    # The one non-ASCII letter the case-blind pattern reads as an ASCII one: a long s.
    assert find_urls("see httpſ://odd.org/x now") == ["httpſ://odd.org/x"]


def test_listings_round_trip_and_merge_equals_dedupe():
    papers = [
        _paper("Llama 2: Open Models", "First.", "a:1"),
        _paper("LLAMA 2 -- open models", "", "b:2", year=2023, authors=["H. T."], extra={"venue": "X"}),
        _paper("Other", "Text.", "c:3", doi=""),
        _paper("llama 2 open models", "Second text.", "d:4", doi="10.1/x", categories=["cs.CL"]),
    ]
    listings = Listings.from_papers(papers)
    assert listings.papers() == papers
    assert "year" in listings.fields and "eprint" not in listings.fields
    both = Listings.from_papers(papers[:2])
    both.extend(Listings.from_papers(papers[2:]))
    assert both.papers() == papers
    report_a, report_b = IngestReport(), IngestReport()
    merged, norms = merge_listings(listings, report_a)
    assert merged.papers() == dedupe(papers, report_b)
    assert norms == [normalize_title(p.title) for p in merged.papers()]
    assert report_a == report_b and report_a.duplicates_merged == 2
    first = merged.papers()[0]
    assert first.provenance == ["a:1", "b:2", "d:4"] and first.doi == "10.1/x" and first.extra == {"venue": "X"}
    assert papers[0].provenance == ["a:1"]  # the input is untouched
    # The frame of listings equals the frame of their papers.
    pd.testing.assert_frame_equal(merged.frame(norms, copy=False), to_frame(dedupe(papers)))


def test_near_duplicates_of_titles_with_many_repeated_characters():
    # Over 63 of one character: the screen's unary counts no longer fit a word per bin.
    titles = [f"Model {'a' * k} shared tail words" for k in range(60, 130)]
    titles += [f"{'b' * k} more shared words" for k in range(60, 130, 2)]
    assert near_duplicates(titles) == _near_duplicates_reference(titles)
    assert near_duplicates(titles, 97.0) == _near_duplicates_reference(titles, 97.0)
    assert len(near_duplicates(titles)) > 50
