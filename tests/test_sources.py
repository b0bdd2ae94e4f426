"""surveylib.sources: every source format, the shipped corpus, and the ingest report."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from surveylib.corpus import CORPUS_COLUMNS, IngestIssue, IngestReport, Paper, normalize_title
from surveylib.errors import SourceError, SurveyError
from surveylib.sources import PARSERS, ingest, parse_daily_papers, read_listings, read_source
from surveylib.sources._text import read_pieces, read_text
from surveylib.sources.daily_papers import daily_papers_listings
from surveylib.sources.tabular import record_to_paper

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
SHIPPED = sorted((REPO / "bib" / "sources").glob("*.txt"))


# --- the shipped corpus -------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped():
    return ingest(SHIPPED, root=REPO)


def test_shipped_corpus_has_287_papers_from_338_listings(shipped):
    corpus, report = shipped
    assert len(SHIPPED) == 4
    assert list(corpus.columns) == CORPUS_COLUMNS
    assert len(corpus) == 287 == report.papers
    assert report.listings == 338
    assert report.duplicates_merged == 338 - 287
    assert report.skipped == [] and report.warnings == []
    assert report.files == [f"bib/sources/{p.name}" for p in SHIPPED]
    # Every listing is kept as provenance, each place exactly once.
    places = [w for prov in corpus["provenance"] for w in prov]
    assert len(places) == 338 == len(set(places))
    assert corpus["paper_id"].is_unique
    assert corpus["title"].map(normalize_title).is_unique


def test_shipped_provenance_points_at_the_title_line(shipped):
    corpus, _ = shipped
    texts = {f"bib/sources/{p.name}": p.read_text(encoding="utf-8").split("\n") for p in SHIPPED}
    for title, prov in zip(corpus["title"], corpus["provenance"]):
        for where in prov:
            path, line = where.rsplit(":", 1)
            # Duplicate listings share the normalised title, not always the exact text.
            assert normalize_title(texts[path][int(line) - 1]) == normalize_title(title), where


def test_shipped_abstracts_are_whole_and_dated(shipped):
    corpus, _ = shipped
    assert (corpus["abstract"].str.len() >= 120).all()
    assert not corpus["title"].str.contains("\n").any()
    assert corpus["extra"].map(lambda e: bool(e.get("listed"))).all()
    # URLs found in abstracts are split into code and project links.
    assert corpus["code_url"].notna().sum() > 20
    assert corpus["code_url"].dropna().str.contains("github.com|huggingface.co|gitlab.com").all()


def test_ingest_counts_duplicates_across_files(tmp_path):
    page = "Daily Papers\n\nMar 13\n\n{t}\n\n" + "An abstract long enough to be one. " * 5 + "\n"
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(page.format(t="Shared Paper: One"), encoding="utf-8")
    b.write_text(page.format(t="shared paper -- one"), encoding="utf-8")
    corpus, report = ingest([a, b], root=tmp_path)
    assert len(corpus) == 1 and report.listings == 2 and report.duplicates_merged == 1
    assert corpus.loc[0, "provenance"] == ["a.txt:5", "b.txt:5"]
    assert corpus.loc[0, "title"] == "Shared Paper: One"  # the first listing's text wins


# --- Daily Papers pages -------------------------------------------------------------------

ABSTRACT = "We study token compression for multimodal models and find that half the tokens suffice. " * 2


def test_daily_papers_page_with_header_and_date():
    text = (
        "New\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"
        f"Mar 13\n\nFirst Paper\n\n{ABSTRACT}\n\nSecond Paper\n\n{ABSTRACT}\n"
    )
    report = IngestReport()
    papers = parse_daily_papers(text, "page.txt", report)
    assert [p.title for p in papers] == ["First Paper", "Second Paper"]
    assert [p.provenance for p in papers] == [["page.txt:11"], ["page.txt:15"]]
    assert papers[0].abstract == ABSTRACT.strip()
    assert papers[0].extra == {"listed": "Mar 13"}
    assert report.listings == 2 and report.issues == []


def test_daily_papers_title_without_abstract_is_reported_with_line():
    text = f"Mar 13\n\nOrphan Title\n\nGood Paper\n\n{ABSTRACT}\n"
    report = IngestReport()
    papers = parse_daily_papers(text, "p.txt", report)
    assert [p.title for p in papers] == ["Good Paper"]
    assert [(i.where, i.skipped) for i in report.issues] == [("p.txt:3", True)]
    assert "title with no abstract" in report.issues[0].reason and "Orphan Title" in report.issues[0].reason


# --- BibTeX -------------------------------------------------------------------------------

def test_bib_source_decodes_latex_and_reports_bad_blocks():
    report = IngestReport()
    papers = read_source(FIXTURES / "src_refs.bib", report)
    assert [p.title for p in papers] == [
        "Token Merging for Multimodal Large Language Models",
        "Gödel, Escher, Bach and LLaVA: Café Reasoning",
    ]
    first, second = papers
    assert first.authors == ["Lovelace, Ada", "Turing, Alan"]
    assert (first.year, first.eprint, first.archive_prefix, first.primary_class) == (2024, "2404.01234", "arXiv", "cs.CV")
    assert first.entry_type == "article" and first.extra["source_key"] == "lovelace2024merge"
    assert first.provenance == ["tests/fixtures/src_refs.bib:2"]
    assert second.abstract == "An abstract with café and naïve." and second.doi == "10.1000/xyz"
    skipped = sorted((i.where, i.reason.split(";")[0]) for i in report.skipped)
    assert skipped == [
        ("tests/fixtures/src_refs.bib:20", "entry 'notitle' has no title"),
        ("tests/fixtures/src_refs.bib:25", "BibTeX block could not be parsed (ParsingFailedBlock)"),
    ]
    assert report.listings == 2


# --- CSV and JSON Lines -------------------------------------------------------------------

def test_csv_source_rows_and_issues():
    report = IngestReport()
    papers = read_source(FIXTURES / "src_table.csv", report)
    assert [p.title for p in papers] == ["Llama 2: Open Foundation Models", "Llama 3 Herd", 'A Title, With "Quotes"']
    assert papers[0].authors == ["Hugo T", "Louis M"] and papers[0].categories == ["cs.CL", "cs.AI"]
    assert papers[0].eprint == "2307.09288" and papers[1].year == 2024
    assert [p.provenance[0] for p in papers] == [f"tests/fixtures/src_table.csv:{n}" for n in (2, 3, 5)]
    assert [(i.where, i.skipped) for i in report.issues] == [
        ("tests/fixtures/src_table.csv:4", True), ("tests/fixtures/src_table.csv:5", False)]


def test_csv_without_title_column_is_an_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,abstract\nx,y\n", encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read_source(bad)
    assert "'title' column" in err.value.message and err.value.where.endswith("bad.csv:1")


def test_jsonl_source_rows_and_issues():
    report = IngestReport()
    papers = read_source(FIXTURES / "src_rows.jsonl", report)
    assert [p.title for p in papers] == ["Visual Instruction Tuning", "Visual instruction tuning!"]
    assert papers[0].authors == ["Haotian Liu", "Chunyuan Li"] and papers[0].extra == {"venue": "NeurIPS"}
    where = "tests/fixtures/src_rows.jsonl"
    assert [(i.where, i.skipped) for i in report.issues] == [
        (f"{where}:3", True), (f"{where}:4", True), (f"{where}:5", True), (f"{where}:6", False)]


def test_jsonl_duplicates_merge_through_ingest():
    corpus, report = ingest([FIXTURES / "src_rows.jsonl"], root=REPO)
    assert len(corpus) == 1 and report.duplicates_merged == 1
    assert corpus.loc[0, "provenance"] == ["tests/fixtures/src_rows.jsonl:1", "tests/fixtures/src_rows.jsonl:6"]
    # Different abstracts under one title: the first is kept, and that is reported.
    assert any("different abstract" in i.reason for i in report.warnings)


# --- arXiv Atom ---------------------------------------------------------------------------

def test_arxiv_atom_keeps_authors_dates_ids_categories():
    report = IngestReport()
    papers = read_source(FIXTURES / "src_arxiv.atom", report)
    first, second = papers
    assert first.title == "Token Merging for Multimodal Large Language Models"
    assert first.abstract == "We merge visual tokens. It is fast."
    assert first.authors == ["Ada Lovelace", "Alan Turing"]
    assert (first.eprint, first.archive_prefix, first.year) == ("2404.01234", "arXiv", 2024)
    assert first.published == "2024-04-01T17:59:59Z"
    assert first.primary_class == "cs.CV" and first.categories == ["cs.CV", "cs.CL"]
    assert first.doi == "10.1234/example.5678" and first.url == "https://arxiv.org/abs/2404.01234"
    assert (second.eprint, second.categories, second.doi) == ("2312.00042", ["cs.LG"], None)
    # Provenance is file:line of each <entry>.
    assert [p.provenance for p in papers] == [["tests/fixtures/src_arxiv.atom:7"], ["tests/fixtures/src_arxiv.atom:24"]]
    assert report.listings == 2 and report.issues == []


def test_atom_that_is_not_a_feed_is_an_error(tmp_path):
    bad = tmp_path / "x.xml"
    bad.write_text("<html><body/></html>", encoding="utf-8")
    with pytest.raises(SourceError, match="not an Atom"):
        read_source(bad)
    bad.write_text("<feed><entry>", encoding="utf-8")
    with pytest.raises(SourceError, match="not well-formed"):
        read_source(bad)


def test_same_paper_from_four_formats_is_one_row():
    corpus, report = ingest([FIXTURES / "src_arxiv.atom", FIXTURES / "src_refs.bib"], root=REPO)
    row = corpus[corpus["title"] == "Token Merging for Multimodal Large Language Models"].iloc[0]
    assert row["provenance"] == ["tests/fixtures/src_arxiv.atom:7", "tests/fixtures/src_refs.bib:2"]
    assert row["doi"] == "10.1234/example.5678" and row["categories"] == ["cs.CV", "cs.CL"]


def test_unknown_suffix_is_an_error_naming_the_file(tmp_path):
    odd = tmp_path / "notes.docx"
    odd.write_text("x", encoding="utf-8")
    with pytest.raises(SurveyError) as err:
        read_source(odd)
    assert "notes.docx" in str(err.value) and ".txt" in err.value.hint
    assert set(PARSERS) >= {".txt", ".bib", ".csv", ".jsonl", ".xml", ".atom"}


# --- the report ---------------------------------------------------------------------------

def test_report_text_and_json_carry_counts_and_locations():
    _, report = ingest([FIXTURES / "src_rows.jsonl", FIXTURES / "src_table.csv"], root=REPO)
    text = str(report)
    assert text.startswith("ingest: 2 source file(s), 5 listings read, 4 papers, 1 duplicate listings merged, "
                           "4 block(s) skipped, 3 warning(s)")
    assert "tests/fixtures/src_rows.jsonl:3: skipped: not valid JSON" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["skipped"] == 4 and data["listings"] == 5
    assert {i["where"] for i in data["issues"]} >= {"tests/fixtures/src_table.csv:4"}


# --- big files: pieces, batches and whole pages read as line by line would ---------------

def test_read_pieces_join_to_read_text(tmp_path):
    # Over 64 KiB, so that pieces after the first are small and fall inside CRLFs and characters.
    rng = random.Random(4)
    units = [b"a", b"b ", b"\r\n", b"\n", b"\r", "é".encode(), "€".encode(), "𝔸".encode(), b"\xef\xbb\xbf"]
    path = tmp_path / "big.txt"
    for trial in range(6):
        data = b"".join(rng.choices(units, weights=[30, 10, 4, 4, 2, 3, 3, 1, 1], k=70_000))
        path.write_bytes((b"\xef\xbb\xbf" if trial % 2 else b"") + data)
        for size in (1, 2, 3, 7, 4096):
            assert "".join(read_pieces(path, size)) == read_text(path), (trial, size)


def test_read_pieces_reports_bad_bytes_past_the_first_piece_with_their_line(tmp_path):
    path = tmp_path / "late.jsonl"
    path.write_bytes(b'{"title": "T", "abstract": "A"}\n' * 5000 + b'{"title": "Caf\xe9"}\n')
    with pytest.raises(SourceError) as err:
        list(read_pieces(path, 1024))
    assert err.value.where.endswith("late.jsonl:5001") and "UTF-8" in err.value.message
    with pytest.raises(SourceError):
        read_listings(path)


def _jsonl_reference(text: str, where: str, report: IngestReport) -> list[Paper]:
    """JSON Lines as first read: json.loads and record_to_paper, line by line."""
    papers = []
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            report.issues.append(IngestIssue(f"{where}:{n}", f"not valid JSON ({exc.msg}); line skipped"))
            continue
        if not isinstance(record, dict):
            report.issues.append(IngestIssue(f"{where}:{n}", "line is JSON but not an object; skipped"))
            continue
        paper = record_to_paper(record, f"{where}:{n}", report)
        if paper:
            papers.append(paper)
    return papers


def test_jsonl_batches_read_as_line_by_line(tmp_path):
    rows = [json.dumps({"title": f"Paper  number {i}", "abstract": f"Abstract {i}."}) for i in range(3000)]
    odd = ['{"title": "Rich", "abstract": "x", "authors": ["A B"], "year": 2024, "venue": "V"}', "",
           "not json", '["list"]', '{"title": "NaN row", "abstract": "y", "score": NaN}', '{"abstract": "no title"}',
           '{"title": "No abstract"}', '{"Title": " Upper ", "abstract": " spaced "}', '{"title": 7, "abstract": "z"}',
           '{"title": "Huge", "abstract": "' + "w" * 30_000 + '"}', '{"title": "Paper number 5", "abstract": "dup"}']
    lines = list(rows)
    for k, line in enumerate(odd):
        lines.insert(137 * (k + 1) + k, line)
    text = "\n".join(lines) + "\n\n"
    path = tmp_path / "rows.jsonl"
    path.write_text(text, encoding="utf-8")
    got_report, want_report = IngestReport(), IngestReport()
    got = read_listings(path, got_report, where="rows.jsonl").papers()
    want = _jsonl_reference(text, "rows.jsonl", want_report)
    want_report.listings = len(want)
    want_report.files = ["rows.jsonl"]
    assert got == want
    assert got_report == want_report
    assert len(got) == 3000 + 6 and len(got_report.skipped) == 4  # bad JSON, a list, no title, too long


def test_a_clean_page_reads_as_the_block_by_block_loop_would(tmp_path):
    abstract = "We study token compression for multimodal models and find that half the tokens suffice. " * 2
    titles = [f"Paper {i}: Tokens, Merged" for i in range(40)]
    page = "Daily Papers\n\nMar 13\n\n" + "\n\n".join(f"{t}\n\n{abstract}" for t in titles) + "\n"
    clean_report, loop_report = IngestReport(), IngestReport()
    clean = daily_papers_listings(page, "p.txt", clean_report)
    # A trailing title without abstract makes the parser read the page block by block.
    loop = daily_papers_listings(page + "\nLonely Title\n", "p.txt", loop_report)
    assert clean.papers() == loop.papers()
    assert [p.provenance for p in clean.papers()] == [[f"p.txt:{5 + 4 * i}"] for i in range(40)]
    assert clean_report.listings == loop_report.listings == 40
    assert clean_report.issues == [] and [i.reason.split(":")[0] for i in loop_report.issues] == ["title with no abstract"]
