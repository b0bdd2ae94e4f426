"""surveylib.corpus: title normalisation, dedup (merge) versus near-duplicates (report only)."""
from __future__ import annotations

import unicodedata

import pytest

from surveylib.corpus import (CORPUS_COLUMNS, IngestReport, Paper, code_and_project_url, dedupe, find_urls,
                              near_duplicates, normalize_title, paper_id, to_frame)


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
