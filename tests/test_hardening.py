"""Hardening: bad sources give a clear error or a counted, located skip, through the library and the
`survey` CLI, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from surveylib.corpus import IngestReport
from surveylib.errors import SourceError
from surveylib.sources import ingest, read_source

SURVEY = Path(sys.executable).with_name("survey")
ABSTRACT = "We study visual token pruning in multimodal language models and keep accuracy at half the cost. " * 2
PAGE = (
    "New\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"
    "Mar 13\n\nFirst Paper\n\n{a}\n\nSecond Paper\n\n{a}\n"
).format(a=ABSTRACT.strip())


def run_survey(project: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the installed `survey` command in ``project`` (which has a survey.toml)."""
    if not (project / "survey.toml").exists():
        (project / "survey.toml").write_text('[survey]\ntitle = "Hardening"\n', encoding="utf-8")
    return subprocess.run([str(SURVEY), *args], cwd=project, capture_output=True, text=True, timeout=120)


def _ingest_one(path: Path):
    return ingest([path], root=path.parent)


# --- each bad source, through the library -------------------------------------------------

@pytest.mark.parametrize("name", ["empty.txt", "empty.bib", "empty.csv", "empty.jsonl", "empty.xml", "blank.txt"])
def test_empty_file_is_a_counted_skip(tmp_path, name):
    path = tmp_path / name
    path.write_text("" if name.startswith("empty") else "\n  \n\t\n", encoding="utf-8")
    corpus, report = _ingest_one(path)
    assert len(corpus) == 0
    assert [(i.where, i.skipped) for i in report.issues] == [(f"{name}:1", True)]
    assert "empty file" in report.issues[0].reason


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", bytes(range(256)) * 8])
def test_binary_file_is_an_error_naming_the_file(tmp_path, data):
    path = tmp_path / "figure.txt"
    path.write_bytes(data)
    with pytest.raises(SourceError) as err:
        read_source(path)
    assert "figure.txt" in err.value.where and "binary" in err.value.message and err.value.hint


def test_non_utf8_text_is_an_error_with_its_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(PAGE.replace("Second Paper", "Caf\u00e9 Paper").encode("latin-1"))
    with pytest.raises(SourceError) as err:
        read_source(path)
    assert err.value.where.endswith("latin1.txt:15") and "UTF-8" in err.value.message


@pytest.mark.parametrize("encode", [
    lambda t: t.replace("\n", "\r\n").encode(),                # CRLF
    lambda t: t.replace("\n", "\r").encode(),                  # old Mac CR
    lambda t: b"\xef\xbb\xbf" + t.encode(),                    # UTF-8 BOM
    lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode(),
    lambda t: (t + "\ufeff" + t.replace("First", "Third").replace("Second", "Fourth")).encode(),  # concatenated
])
def test_line_endings_and_bom_read_the_same(tmp_path, encode):
    path = tmp_path / "page.txt"
    path.write_bytes(encode(PAGE))
    corpus, report = _ingest_one(path)
    assert list(corpus["title"])[:2] == ["First Paper", "Second Paper"]
    assert corpus.loc[0, "provenance"] == ["page.txt:11"]
    assert corpus.loc[0, "abstract"] == ABSTRACT.strip()
    assert not corpus["title"].str.contains("\r|\ufeff").any()
    assert not corpus["abstract"].str.contains("\r|\ufeff").any()
    assert report.issues == []


def test_crlf_and_bom_in_csv_and_jsonl(tmp_path):
    csv_path = tmp_path / "t.csv"
    csv_path.write_bytes(b"\xef\xbb\xbftitle,abstract\r\nA Paper,\"Line one\r\nline two\"\r\nB Paper,Text\r\n")
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + b'{"title": "C Paper", "abstract": "x"}\r\n{"title": "D Paper", "abstract": "y"}\r\n')
    corpus, report = ingest([csv_path, jsonl], root=tmp_path)
    assert list(corpus["title"]) == ["A Paper", "B Paper", "C Paper", "D Paper"]
    assert corpus.loc[0, "abstract"] == "Line one\nline two"
    assert [p[0] for p in corpus["provenance"]] == ["t.csv:3", "t.csv:4", "t.jsonl:1", "t.jsonl:2"]
    assert report.issues == []


def test_title_with_no_abstract_and_abstract_with_no_title(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text(
        f"Mar 13\n\nA Title Alone\n\nGood Paper\n\n{ABSTRACT}\n\n{ABSTRACT} An orphan.\n\nLast Title Alone\n",
        encoding="utf-8")
    corpus, report = _ingest_one(path)
    assert list(corpus["title"]) == ["Good Paper"]
    got = [(i.where, i.reason.split(":")[0]) for i in report.issues]
    assert got == [("p.txt:3", "title with no abstract"), ("p.txt:9", "abstract with no title before it"),
                   ("p.txt:11", "title with no abstract")]
    assert all(i.skipped for i in report.issues) and report.listings == 1


def test_rows_without_title_or_abstract(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"title": "Only A Title"}\n{"abstract": "Only an abstract."}\n{"title": "  ", "abstract": ""}\n',
                    encoding="utf-8")
    corpus, report = _ingest_one(path)
    assert list(corpus["title"]) == ["Only A Title"]
    assert [(i.where, i.skipped) for i in report.issues] == [("rows.jsonl:1", False), ("rows.jsonl:2", True),
                                                              ("rows.jsonl:3", True)]


@pytest.mark.parametrize("suffix", [".txt", ".jsonl", ".csv"])
def test_a_one_megabyte_line_is_a_reported_skip(tmp_path, suffix):
    huge = ("token " * 200_000)[:1_000_000]
    path = tmp_path / f"big{suffix}"
    if suffix == ".txt":
        path.write_text(f"Mar 13\n\nGood Paper\n\n{ABSTRACT}\n\n{huge}\n\nLater Paper\n\n{ABSTRACT}\n", encoding="utf-8")
        where = "big.txt:7"
    elif suffix == ".jsonl":
        rows = [{"title": "Good Paper", "abstract": "a"}, {"title": "Huge", "abstract": huge},
                {"title": "Later Paper", "abstract": "b"}]
        path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
        where = "big.jsonl:2"
    else:
        path.write_text(f'title,abstract\nGood Paper,a\nHuge,"{huge}"\nLater Paper,b\n', encoding="utf-8")
        where = "big.csv:3"
    corpus, report = _ingest_one(path)
    assert list(corpus["title"]) == ["Good Paper", "Later Paper"]
    (issue,) = report.skipped
    assert issue.where == where and "1,000,000 characters" in issue.reason


def test_a_huge_title_before_its_abstract(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text(f"Mar 13\n\n{'x' * 1_000_000}\n\n{ABSTRACT}\n\nGood Paper\n\n{ABSTRACT}\n", encoding="utf-8")
    corpus, report = _ingest_one(path)
    assert list(corpus["title"]) == ["Good Paper"]
    assert [i.where for i in report.skipped] == ["p.txt:3", "p.txt:5"]


def test_page_with_no_header_is_read_with_a_warning(tmp_path):
    path = tmp_path / "bare.txt"
    path.write_text(f"\n\nFirst Paper\n\n{ABSTRACT}\n\nSecond Paper\n\n{ABSTRACT}\n", encoding="utf-8")
    corpus, report = _ingest_one(path)
    assert list(corpus["title"]) == ["First Paper", "Second Paper"]
    assert [p[0] for p in corpus["provenance"]] == ["bare.txt:3", "bare.txt:7"]
    (issue,) = report.issues
    assert issue.where == "bare.txt:3" and not issue.skipped and "no Daily Papers header" in issue.reason


def test_pages_saved_one_after_another(tmp_path):
    path = tmp_path / "two.txt"
    second = PAGE.replace("Mar 13", "Mar 14").replace("First", "Third").replace("Second", "Fourth")
    path.write_text(PAGE + "\n" + second, encoding="utf-8")
    corpus, report = _ingest_one(path)
    assert list(corpus["title"]) == ["First Paper", "Second Paper", "Third Paper", "Fourth Paper"]
    assert [e["listed"] for e in corpus["extra"]] == ["Mar 13", "Mar 13", "Mar 14", "Mar 14"]
    assert report.issues == []


def test_directory_given_as_a_file(tmp_path):
    folder = tmp_path / "sources.txt"
    folder.mkdir()
    with pytest.raises(SourceError) as err:
        read_source(folder)
    assert "directory" in err.value.message and "sources.txt" in err.value.where


def test_bib_with_missing_at_sign_is_reported(tmp_path):
    path = tmp_path / "refs.bib"
    path.write_text("@article{a, title={Kept}}\n\narticle{b, title = {Lost?}}\n", encoding="utf-8")
    corpus, report = _ingest_one(path)
    assert list(corpus["title"]) == ["Kept"]
    assert [(i.where, i.skipped) for i in report.issues] == [("refs.bib:3", True)]


# --- the same through the CLI -------------------------------------------------------------

CLI_CASES = {
    # name: (contents, exit code, text the output must contain)
    "empty.txt": (b"", 0, "empty.txt:1: skipped: empty file"),
    "binary.txt": (b"\x00\x01\x02PK\x03\x04", 1, "error: binary.txt: is a binary file"),
    "crlf.txt": (PAGE.replace("\n", "\r\n").encode(), 0, "2 listings read, 2 papers"),
    "bom.txt": (b"\xef\xbb\xbf" + PAGE.encode(), 0, "0 block(s) skipped, 0 warning(s)"),
    "orphan.txt": (f"Mar 13\n\nNo Abstract Here\n".encode(), 0, "orphan.txt:3: skipped: title with no abstract"),
    "headless.txt": (f"{ABSTRACT}\n".encode(), 0, "headless.txt:1: skipped: abstract with no title"),
    "huge.txt": (f"Mar 13\n\nT\n\n{'y' * 1_048_576}\n".encode(), 0, "huge.txt:5: skipped: line of 1,048,576"),
    "latin1.txt": ("Mar 13\n\nCafé\n".encode("latin-1"), 1, "latin1.txt:3: is not UTF-8"),
    "missing.txt": (None, 1, "error: missing.txt: no such file"),
    "folder.txt": ("dir", 1, "error: folder.txt: is a directory"),
    "feed.xml": (b"<feed><entry>", 1, "feed.xml:1: not well-formed Atom XML"),
    "nocol.csv": (b"name,abstract\nx,y\n", 1, "nocol.csv:1: CSV header has no 'title' column"),
}


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_survey_ingest_cli_never_shows_a_traceback(tmp_path, name):
    contents, code, expected = CLI_CASES[name]
    if contents == "dir":
        (tmp_path / name).mkdir()
    elif contents is not None:
        (tmp_path / name).write_bytes(contents)
    result = run_survey(tmp_path, "ingest", name)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.returncode == code, output
    assert expected in output, output


def test_survey_ingest_cli_json_counts_every_skip(tmp_path):
    (tmp_path / "a.txt").write_text(f"Mar 13\n\nLonely Title\n\nGood Paper\n\n{ABSTRACT}\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"abstract": "no title"}\nnot json\n', encoding="utf-8")
    result = run_survey(tmp_path, "ingest", "--json", "a.txt", "b.jsonl")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["listings"], data["papers"], data["skipped"]) == (1, 1, 3)
    assert sorted(i["where"] for i in data["issues"]) == ["a.txt:3", "b.jsonl:1", "b.jsonl:2"]
