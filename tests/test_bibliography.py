"""survey bib: escaping round-trips, real-tool checks (bibtexparser, pybtex strict, bibtex,
biber), the three-way merge, determinism. Each test builds its own small project in tmp_path."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pybtex.database
import pybtex.errors
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveylib.bibliography import latex
from surveylib.bibliography import (
    RULES, base_path, decode_latex, encode_text, encode_title, encode_verbatim, generate_bib,
    parse_bib_text, read_bib, read_pins, unbraced,
)
from surveylib.cli import main
from surveylib.config import load_config
from surveylib.corpus import Paper, to_frame
from surveylib.errors import SurveyError
from surveylib.sources import ingest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
ADVERSARIAL = FIXTURES / "bib_adversarial.jsonl"


# --- helpers ------------------------------------------------------------------------------

def make_project(tmp_path: Path, rows: list[dict] | None = None, source: Path | None = None) -> Path:
    """A survey project in tmp_path whose one source is a JSON Lines file."""
    (tmp_path / "sources").mkdir(parents=True, exist_ok=True)
    if source is not None:
        shutil.copy(source, tmp_path / "sources" / "papers.jsonl")
    else:
        write_rows(tmp_path, rows or [])
    (tmp_path / "survey.toml").write_text(
        '[survey]\ntitle = "Test survey"\n\n[corpus]\nsources = ["sources/papers.jsonl"]\n\n'
        '[bibliography]\nbib = "bib/survey.bib"\nkeys = "bib/keys.csv"\nmetadata = "bib/metadata.json"\n\n'
        '[taxonomy]\nfile = "bib/taxonomy.toml"\n', encoding="utf-8")
    return tmp_path


def write_rows(root: Path, rows: list[dict]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (root / "sources" / "papers.jsonl").write_text(text, encoding="utf-8")


def entries_by_title(path: Path) -> dict[str, dict[str, str]]:
    """Decoded field text per entry, keyed by decoded title."""
    lib = read_bib(path)
    assert lib.failed_blocks == []
    out = {}
    for e in lib.entries:
        fields = {f.key.lower(): unbraced(str(f.value)) for f in e.fields}
        fields["_key"] = e.key
        out[decode_latex(fields["title"])] = fields
    return out


def tool_or_skip(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI")
        pytest.skip(f"{name} not installed")
    return path


def run_bibtex(bib: Path, tmp: Path) -> str:
    """Run xelatex -> bibtex -> xelatex on a document that \\nocite{*}s ``bib``; return the
    bibtex log, failing on any bibtex error or LaTeX error."""
    tool_or_skip("xelatex")
    tool_or_skip("bibtex")
    work = tmp / "latex"
    work.mkdir()
    shutil.copy(bib, work / "refs.bib")
    (work / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage{url}\n\\begin{document}\nHello.\n\\nocite{*}\n"
        "\\bibliographystyle{plain}\n\\bibliography{refs}\n\\end{document}\n", encoding="utf-8")
    latex = ["xelatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"]
    subprocess.run(latex, cwd=work, capture_output=True, check=True, timeout=120)
    bt = subprocess.run(["bibtex", "doc"], cwd=work, capture_output=True, text=True, timeout=120)
    log = (work / "doc.blg").read_text(encoding="utf-8", errors="replace")
    assert bt.returncode < 2, bt.stdout
    assert "error message" not in log, log
    second = subprocess.run(latex, cwd=work, capture_output=True, text=True, errors="replace", timeout=120)
    assert second.returncode == 0, second.stdout[-3000:]
    items = (work / "doc.bbl").read_text(encoding="utf-8").count("\\bibitem")
    assert items == len(read_bib(bib).entries)  # every entry reached the bibliography
    return log


def run_biber(bib: Path, tmp: Path) -> None:
    """Run xelatex -> biber -> xelatex on a biblatex document that \\nocite{*}s ``bib``."""
    tool_or_skip("xelatex")
    tool_or_skip("biber")
    work = tmp / "biblatex"
    work.mkdir()
    shutil.copy(bib, work / "refs.bib")
    (work / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage[backend=biber]{biblatex}\n\\addbibresource{refs.bib}\n"
        "\\begin{document}\nHello.\\nocite{*}\n\\printbibliography\n\\end{document}\n", encoding="utf-8")
    latex = ["xelatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"]
    subprocess.run(latex, cwd=work, capture_output=True, check=True, timeout=120)
    out = subprocess.run(["biber", "doc"], cwd=work, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ERROR" not in out.stdout, out.stdout[-3000:]
    second = subprocess.run(latex, cwd=work, capture_output=True, text=True, errors="replace", timeout=120)
    assert second.returncode == 0, second.stdout[-3000:]
    assert (work / "doc.bbl").read_text(encoding="utf-8").count("\\entry{") == len(read_bib(bib).entries)


def pybtex_strict(path: Path):
    old = pybtex.errors.strict
    pybtex.errors.strict = True
    try:
        return pybtex.database.parse_file(str(path), bib_format="bibtex")
    finally:
        pybtex.errors.strict = old


# --- escaping ------------------------------------------------------------------------------

ADVERSARIAL_TEXTS = [
    "a {lone open brace", "a lone close } brace", "{{ }}} {", "50% & R&D", "a lone $ sign", "# hash",
    "snake_case", "tilde ~ here", "caret ^ here", "x\n@misc{evil,\n title = {x}\n}", "  @article(x,",
    "trailing backslash \\", "\\", "M{\\\"u}ller", "Schr\\\"odinger {\\ss} \\'{e} \\v{C}ech",
    "already 37.2\\% and \\& and \\_", "\\textbackslash{} literally", "{\\%}", "Über Straße", "多模态大模型",
    "Quote \" and comma, and semicolon;", "back\\{slash brace\\}", "\\\\ double", "%% comment-like",
    "line1\n% line starting with percent", "{@}", "\\'", "\\\"{", "{\\\"u",
    "en -- dash --- and ``quotes'' ?`!` ,, << >>",
]


@pytest.mark.parametrize("text", ADVERSARIAL_TEXTS)
def test_text_round_trips_and_is_balanced(text):
    for encoded in (encode_text(text), encode_title(text)):
        assert decode_latex(encoded) == text
        depth = 0
        for ch in encoded:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0
        assert depth == 0
        assert not any(line.lstrip().startswith("@") for line in encoded.split("\n")[1:])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab AZ{}\\%&$#_~^@\n\r\t\u3000\"'`=.uvcL0123:ü多")), max_size=40))
def test_any_text_round_trips(text):
    for encoded in (encode_text(text), encode_title(text)):
        assert decode_latex(encoded) == text
        assert encoded.count("{") == encoded.count("}")
        assert not re.search(r"\n\s*@", encoded)
    bib = "@misc{k,\n  title = {" + encode_title(text) + "},\n  abstract = {" + encode_text(text) + "}\n}\n"
    lib = parse_bib_text(bib)
    assert lib.failed_blocks == [] and len(lib.entries) == 1
    fields = lib.entries[0].fields_dict
    assert decode_latex(unbraced(fields["title"].value)) == text
    assert decode_latex(fields["abstract"].value[1:-1]) == text


# The escaping as first written, one regex pass per step: the reference the fast paths of
# encode_text (memchr tests, str.replace) and encode_title (plain titles) must equal.
_REF_LIGATURE = re.compile(r"(?<=-)(?=-)|(?<=`)(?=`)|(?<=')(?=')|(?<=[?!])(?=`)|(?<=,)(?=,)|(?<=<)(?=<)|(?<=>)(?=>)")


def reference_encode_text(text: str) -> str:
    out = _REF_LIGATURE.sub("{}", latex._ENCODE.sub(latex._encode_match, text))
    return re.sub(r"(\n\s*)@", r"\1{@}", out)


def reference_encode_title(title: str) -> str:
    tokens = list(latex._TOKEN.finditer(title))
    cores = [latex._EDGE.match(t.group()).group("core") for t in tokens]
    inner = [w for w in cores[1:] if w[:1].isalpha() and w.lower() not in latex._SMALL]
    names = len(inner) >= 2 and sum(w[:1].isupper() for w in inner) / len(inner) < 0.5
    out, pos, first = [], 0, True
    for tok, core in zip(tokens, cores):
        out.append(reference_encode_text(title[pos:tok.start()]))
        m = latex._EDGE.match(tok.group())
        lead, trail = m.group("lead"), m.group("trail")
        protect = bool(core) and (latex._needs_protection(core) or (names and not first and core[:1].isupper()))
        enc_core = reference_encode_text(core)
        if protect and not enc_core.startswith("\\"):
            enc_core = "{" + enc_core + "}"
        out.append(reference_encode_text(lead) + enc_core + reference_encode_text(trail))
        first = trail.endswith(":") if core else first
        pos = tok.end()
    out.append(reference_encode_text(title[pos:]))
    encoded = re.sub(r"(\n\s*)@", r"\1{@}", "".join(out))
    return encoded if decode_latex(encoded) == title else reference_encode_text(title)


SPECIAL_ALPHABET = list("ab AZ{}\\%&$#_~^@\n\r\t\u3000\x1c\x85\"'`=.uvcL0123:ü多-,<>?!()[]")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(SPECIAL_ALPHABET), max_size=40))
def test_fast_escaping_equals_the_regex_reference(text):
    assert encode_text(text) == reference_encode_text(text)
    assert encode_title(text) == reference_encode_title(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aAbZ09-/:()'\"“.,!?LLaVAmPLUG")), min_size=1, max_size=8),
                max_size=8))
def test_plain_title_path_equals_the_general_path(words):
    title = " ".join(words)  # single spaces, nothing to escape: the fast path
    assert encode_title(title) == reference_encode_title(title)


def test_fast_escaping_equals_the_reference_on_the_real_corpus():
    corpus, _ = ingest(sorted((ROOT / "bib" / "sources").glob("*.txt")))
    texts = ADVERSARIAL_TEXTS + list(corpus["title"]) + list(corpus["abstract"])
    texts += [json.loads(line)["abstract"] for line in ADVERSARIAL.read_text(encoding="utf-8").splitlines()]
    assert sum(encode_text(t) != t for t in texts) > 50  # the corpus does exercise the escaping
    for text in texts:
        assert encode_text(text) == reference_encode_text(text)
        assert encode_title(text) == reference_encode_title(text)


def test_naive_writing_of_an_unbalanced_abstract_breaks_the_file(tmp_path):
    """The control for the round-trip tests: without escaping, the real corpus's stray brace
    ruins the entry for bibtexparser and for BibTeX."""
    naive = "@misc{a,\n  abstract = {(iii) Multimodal reasoning} resumes.}\n}\n\n@misc{b,\n  title = {B}\n}\n"
    original = "(iii) Multimodal reasoning} resumes."
    lib = parse_bib_text(naive)
    read_back = unbraced(str(lib.entries_dict["a"].fields_dict["abstract"].value))
    assert read_back != original and len(lib.comments) == 1  # value cut short, a stray "}" left over
    escaped = "@misc{a,\n  abstract = {" + encode_text("(iii) Multimodal reasoning} resumes.") + "}\n}\n"
    assert [e.key for e in parse_bib_text(escaped).entries] == ["a"]


def test_titles_protect_acronyms_and_mixed_case_names():
    assert encode_title("LLaVA-Mini: Efficient KV Cache for GPT-4V") == "{LLaVA-Mini}: Efficient {KV} Cache for {GPT-4V}"
    assert encode_title("Towards 3D understanding with mPLUG") == "Towards {3D} understanding with {mPLUG}"
    # In a sentence-case title a capitalised word is a name.
    assert encode_title("Sparse attention in transformers from Google") == \
        "Sparse attention in transformers from {Google}"
    # Title Case words are left alone (styles lowercase them correctly).
    assert encode_title("Unified Multi-Modal Document Retrieval") == "Unified Multi-Modal Document Retrieval"


def test_verbatim_fields_are_not_escaped():
    url = "https://example.org/a_b?x=1&y=50%25#frag"
    assert encode_verbatim(url) == url
    assert encode_verbatim("https://x.org/{a}") == "https://x.org/%7Ba%7D"


def test_adversarial_corpus_round_trips_through_every_reader(tmp_path):
    root = make_project(tmp_path, source=ADVERSARIAL)
    config = load_config(root)
    result = generate_bib(config)
    corpus, _ = ingest(config.source_files(), root=root)
    assert result.entries == len(corpus) == 13  # the case-only twins are one paper
    bib = config.bib
    got = entries_by_title(bib)
    for row in corpus.itertuples():
        fields = got[row.title]
        assert decode_latex(fields["abstract"]) == row.abstract
        assert fields["_key"].isascii()
    # Line-starting @ inside the abstract did not start a block.
    assert len(parse_bib_text(bib.read_text(encoding="utf-8")).blocks) == 13 + 1  # + header comment
    urls = got["URL Soup: links with specials"]
    assert urls["url"] == "https://github.com/org/my_repo_name#readme"
    assert "\\" not in urls["url"]
    assert got["LLaMA 2: Open Foundation Models"]["_key"] != got["LLaMA 3: Open Foundation Models"]["_key"]
    assert len(pybtex_strict(bib).entries) == 13
    run_bibtex(bib, tmp_path)
    run_biber(bib, tmp_path)


def test_real_unbalanced_abstracts_round_trip(tmp_path):
    corpus, _ = ingest(sorted((ROOT / "bib" / "sources").glob("*.txt")))
    odd = corpus[corpus["abstract"].map(lambda a: a.count("{") != a.count("}"))]
    assert len(odd) == 2
    root = make_project(tmp_path, rows=[{"title": t, "abstract": a} for t, a in zip(odd.title, odd.abstract)])
    generate_bib(load_config(root))
    got = entries_by_title(root / "bib" / "survey.bib")
    for title, abstract in zip(odd.title, odd.abstract):
        assert decode_latex(got[title]["abstract"]) == abstract
    pybtex_strict(root / "bib" / "survey.bib")


# --- writing ------------------------------------------------------------------------------------

def writer_text(library) -> str:
    """What format_bib gave when bibtexparser's writer wrote the blocks (the reference)."""
    import bibtexparser
    from surveylib.bibliography.files import HEADER, bib_format

    body = bibtexparser.write_string(library, unparse_stack=[], bibtex_format=bib_format())
    return (HEADER.format(base="b.bib", keys="k.csv") + "\n\n" + body).rstrip("\n") + "\n"


AUTHOR_FILE = r"""% my notes
@string{acl = {Proceedings of ACL}}
@preamble{"\newcommand{\noop}[1]{}"}
@comment{keep this}
@ARTICLE{Hand:2024,
  Author = "Doe, Jane and {Org and Co}",
  journal = acl # { 2024},
  Title={A {Hand} Entry},
  year = 2024,
  note = {trailing comma},
}
@misc{empty-fields,
}
@book{x, title = {Weird spacing}  ,  url={https://x.org/a_b%20c}}
"""


def test_written_text_is_byte_identical_to_bibtexparsers_writer(tmp_path):
    from bibtexparser import Library
    from bibtexparser.model import ImplicitComment
    from surveylib.bibliography import format_bib

    root = make_project(tmp_path / "adv", source=ADVERSARIAL)
    generate_bib(load_config(root))
    shutil.copy(ROOT / "survey.toml", tmp_path / "survey.toml")
    shutil.copytree(ROOT / "bib", tmp_path / "bib")
    generate_bib(load_config(tmp_path))
    libraries = [read_bib(root / "bib" / "survey.bib"), read_bib(tmp_path / "bib" / "survey.bib"),
                 parse_bib_text(AUTHOR_FILE), Library()]
    assert sum(len(lib.entries) for lib in libraries) == 13 + 287 + 3
    for lib in libraries:
        assert lib.failed_blocks == []
        text = format_bib(lib, base="b.bib", keys="k.csv")
        assert text == writer_text(lib)
        again = parse_bib_text(text)
        assert again.failed_blocks == []
        assert [(len(x.entries), len(x.strings), len(x.preambles)) for x in (again, lib)] == \
            [(len(lib.entries), len(lib.strings), len(lib.preambles))] * 2
        path = tmp_path / "written.bib"
        path.write_text(text, encoding="utf-8")
        assert len(pybtex_strict(path).entries) == len(lib.entries)
    # Written in chunks, the text is the same wherever the chunks end.
    from surveylib.bibliography import files
    lib = libraries[2]
    for size in (1, 2, 3, 5, 1000):
        assert "".join(files._text_chunks(lib, True, "b.bib", "k.csv", blocks_per_chunk=size)) == writer_text(lib)
    assert files.format_bib_bytes(lib, base="b.bib", keys="k.csv") == writer_text(lib).encode("utf-8")
    comments = parse_bib_text("@misc{a,\n  title = {A}\n}\n")
    comments.add([ImplicitComment("") for _ in range(4)])
    for size in (1, 2, 3):
        assert "".join(files._text_chunks(comments, False, "", "", blocks_per_chunk=size)) == \
            writer_text(comments).split("\n\n", 1)[1]
    # The text ends in exactly one newline, whatever the last block ends with.
    tail = parse_bib_text("@misc{a,\n  title = {A}\n}\n\n% a closing comment\n\n\n")
    assert format_bib(tail, header=False) == writer_text(tail).split("\n\n", 1)[1]
    assert format_bib(Library(), header=False) == "\n"


def varied_rows(count: int, seed: int = 3):
    """Corpus rows mixing every field's known, blank and missing forms, specials included."""
    import random

    rng = random.Random(seed)
    choices = {
        "title": ["LLaVA: A {brace} test", "plain title here", "Sparse attention in transformers from Google",
                  "50% & R&D -- ``q''", "  spaced   title ", "Ünïcödé: Tïtle", "x\n@misc{evil", "GPT-4V and KV", ""],
        "abstract": ["abs with 50% and {brace}", "", "   ", None, float("nan"), "plain", "M{\\\"u}ller \\% done",
                     "line\n@x"],
        "authors": [[], ["Jane Doe", "Org and Co"], ["A, B, C, D"], None, ["Müller, J."]],
        "year": [None, 2024, "2023", "2023.0", "abc", float("nan")],
        "eprint": [None, "2401.12345", "hep-th/9901001", "weird id", "  ", float("nan")],
        "archive_prefix": [None, "arXiv", "HAL", ""],
        "primary_class": [None, "cs.CV", "cs_CL"],
        "doi": [None, "10.1000/x_y{z}", "", float("nan")],
        "code_url": [None, "https://github.com/a/b_c", float("nan"), "http://x.org/a b"],
        "project_url": [None, "https://proj.org/{x}", float("nan")],
        "entry_type": [None, "article", "InProceedings", "bad type!", ""],
    }
    rows = [{name: rng.choice(values) for name, values in choices.items()} for _ in range(count)]
    metas = [rng.choice([None, {"authors": ["Meta Author"], "year": 2020, "eprint": "2001.00001",
                                "primary_class": "cs.LG", "status": "found"},
                         {"eprint": "abc", "archive_prefix": "X", "status": "found"}]) for _ in rows]
    keywords = [rng.choice([None, [], ["token_compression"], ["a & b", "c"]]) for _ in rows]
    return rows, metas, keywords


def reference_entry(row: dict, keywords, meta) -> tuple[str, list[tuple[str, str]]]:
    """The per-row rules as first written (one paper at a time): (entry type, fields)."""
    import math

    def known(value):
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return False
        return len(value) > 0 if isinstance(value, (list, tuple)) else str(value).strip() != ""

    def first(*values):
        return next((v for v in values if known(v)), None)

    def verbatim(value):
        unsafe = {"{": "%7B", "}": "%7D", "\\": "%5C", " ": "%20", "\n": "%0A", "\t": "%09", '"': "%22"}
        return "".join(unsafe.get(ch, ch) for ch in value.strip())

    meta = meta or {}
    authors, eprint = first(row.get("authors"), meta.get("authors")), first(row.get("eprint"), meta.get("eprint"))
    year = first(row.get("year"), meta.get("year"))
    year = re.fullmatch(r"\s*(\d{4})(?:\.0)?\s*", str(year)) if year is not None else None
    values = {
        "author": " and ".join(latex.encode_name(str(a)) for a in authors) if authors is not None else None,
        "title": reference_encode_title(str(row["title"])),
        "year": year.group(1) if year else None,
        "eprint": verbatim(str(eprint)) if eprint is not None else None,
        "archivePrefix": None, "primaryClass": None,
        "doi": verbatim(str(row["doi"])) if known(row.get("doi")) else None,
        "url": None,
        "keywords": ", ".join(reference_encode_text(str(k)) for k in keywords) if keywords else None,
        "abstract": reference_encode_text(str(row["abstract"])) if known(row.get("abstract")) else None,
    }
    if eprint is not None:
        prefix = first(row.get("archive_prefix"), meta.get("archive_prefix"))
        if prefix is None and re.fullmatch(r"\d{4}\.\d{4,5}(v\d+)?|[a-z\-]+(\.[A-Z]{2})?/\d{7}(v\d+)?", str(eprint)):
            prefix = "arXiv"
        values["archivePrefix"] = reference_encode_text(str(prefix)) if prefix is not None else None
        primary = first(row.get("primary_class"), meta.get("primary_class"))
        values["primaryClass"] = reference_encode_text(str(primary)) if primary is not None else None
    url = first(row.get("code_url"), row.get("project_url"))
    values["url"] = verbatim(str(url)) if url is not None else None
    kind = row.get("entry_type")
    kind = str(kind).lower() if known(kind) and re.fullmatch(r"[A-Za-z]+", str(kind)) else "misc"
    order = ["author", "title", "year", "eprint", "archivePrefix", "primaryClass", "doi", "url", "keywords", "abstract"]
    return kind, [(name, "{" + values[name] + "}") for name in order if values[name]]


def test_generated_text_equals_the_text_of_the_generated_entries(tmp_path):
    """format_generated_bytes writes the .bib straight from plain columns; it must give
    the bytes format_bib_bytes gives for the entry objects (the merge's data model), and the
    entries must be what paper_entry makes of each row."""
    from surveylib.bibliography import format_bib_bytes, format_generated_bytes, generate_entries, paper_entry
    from surveylib.corpus import normalize_title

    rows, metas, keywords = varied_rows(400)
    frame = pd.DataFrame([dict(r, title=f"{r['title']} {i}") for i, r in enumerate(rows)])
    keys = [f"k{i:03d}" if i % 3 else f"K{i:03d}" for i in range(len(rows))]
    metadata = {normalize_title(t): m for t, m in zip(frame["title"], metas) if m}
    generated = generate_entries(frame, dict(zip(keys, keywords)), metadata, keys=keys)
    library = generated.library()
    assert format_generated_bytes(generated, base="b.bib", keys="k.csv") == \
        format_bib_bytes(library, base="b.bib", keys="k.csv") == writer_text(library).encode("utf-8")
    assert [e.key for e in library.entries] == sorted(keys, key=lambda k: (k.lower(), k))
    by_key = {e.key: e for e in library.entries}
    for i, key in enumerate(keys):
        row = frame.iloc[i].to_dict()
        one = paper_entry(row, key, keywords[i], metas[i])
        expected = reference_entry(row, keywords[i], metas[i])
        for entry in (one, by_key[key]):
            assert (entry.entry_type, [(f.key, f.value) for f in entry.fields]) == expected
    assert sum(len(e.fields) for e in library.entries) > 1500  # the rows do fill the fields
    # A column without a single value (a source that never gives it) is skipped as a whole.
    for column in ("abstract", "authors", "year", "eprint", "archive_prefix", "primary_class", "doi",
                   "code_url", "project_url", "entry_type"):
        emptied = frame.assign(**{column: None})
        generated = generate_entries(emptied, dict(zip(keys, keywords)), metadata, keys=keys)
        got = {e.key: (e.entry_type, [(f.key, f.value) for f in e.fields]) for e in generated.library().entries}
        for i, key in enumerate(keys):
            assert got[key] == reference_entry(emptied.iloc[i].to_dict(), keywords[i], metas[i]), column
    # The real corpus and the adversarial one, as survey bib generates them.
    for source in (None, ADVERSARIAL):
        corpus, _ = ingest(sorted((ROOT / "bib" / "sources").glob("*.txt")) if source is None else [source])
        generated = generate_entries(corpus, keys=[f"p{i}" for i in range(len(corpus))])
        assert format_generated_bytes(generated) == format_bib_bytes(generated.library())
    empty = generate_entries(frame.iloc[:0], keys=[])
    assert format_generated_bytes(empty) == format_bib_bytes(empty.library())


# --- the real bibliography ---------------------------------------------------------------------

def test_real_bib_has_every_paper_once_and_parses_everywhere(tmp_path):
    bib = ROOT / "bib" / "survey.bib"
    lib = read_bib(bib)
    assert lib.failed_blocks == []
    keys = [e.key for e in lib.entries]
    assert len(keys) == 287
    assert len({k.lower() for k in keys}) == 287
    _, rows = read_pins(ROOT / "bib" / "keys.csv")
    assert set(keys) == {k for k, _ in rows}
    assert len(pybtex_strict(bib).entries) == 287
    run_bibtex(bib, tmp_path)


def test_real_bib_validates_with_biber(tmp_path):
    tool_or_skip("biber")
    shutil.copy(ROOT / "bib" / "survey.bib", tmp_path / "refs.bib")
    out = subprocess.run(["biber", "--tool", "--validate-datamodel", "--output-file", str(tmp_path / "out.bib"),
                          "refs.bib"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "ERROR" not in out.stdout


def test_real_project_regenerates_byte_identically(tmp_path):
    """Regenerating the real project (sources, pins, base, metadata) twice gives the same bytes,
    every paper already has a pinned key, and no field is in conflict."""
    shutil.copy(ROOT / "survey.toml", tmp_path / "survey.toml")
    shutil.copytree(ROOT / "bib", tmp_path / "bib")
    config = load_config(tmp_path)
    keywords = {e.key: _keywords(e) for e in read_bib(config.bib).entries}
    first = generate_bib(config, keywords=keywords)
    once = config.bib.read_bytes()
    second = generate_bib(config, keywords=keywords)
    assert config.bib.read_bytes() == once
    assert first.entries == second.entries == 287
    assert first.new_keys == 0 and first.conflicts == 0 and second.hand_edits_kept == first.hand_edits_kept


def _keywords(entry):
    kw = entry.fields_dict.get("keywords")
    return [decode_latex(k.strip()) for k in unbraced(str(kw.value)).split(",")] if kw else []


# --- merge -----------------------------------------------------------------------------------

PAPERS = [
    {"title": "LMEye: An Interactive Perception Network", "abstract": "We present LMEye. Code: https://github.com/a/lmeye"},
    {"title": "Token Merging for Fast Vision", "abstract": "Merge tokens."},
    {"title": "Modality Bias in VQA", "abstract": "Bias."},
]


def test_hand_edits_and_hand_added_entries_survive_regeneration(tmp_path):
    root = make_project(tmp_path, rows=PAPERS)
    config = load_config(root)
    generate_bib(config)
    bib = config.bib
    text = bib.read_text(encoding="utf-8")
    # The author: corrects a title, adds an author list, deletes the url, adds an entry.
    text = text.replace("title = {{LMEye}: An Interactive Perception Network}",
                        "title = {{LMEye}: An Interactive Perception Network for {LLMs}},\n"
                        "  author = {Li, Yunxin and Hu, Baotian}")
    text = text.replace("  url = {https://github.com/a/lmeye},\n", "")
    text += "\n@article{Smith,\n  title = {A Hand-Added Paper},\n  author = {Smith, Jane},\n  year = {2020}\n}\n"
    bib.write_text(text, encoding="utf-8")
    # Meanwhile the corpus changes: an abstract is updated and a paper arrives.
    rows = [dict(PAPERS[0], abstract="We present LMEye, revised. Code: https://github.com/a/lmeye"), *PAPERS[1:],
            {"title": "Smith: A Clash With a Hand-Added Key", "abstract": "x"}]
    write_rows(root, rows)
    result = generate_bib(config)
    got = entries_by_title(bib)
    lmeye = got["LMEye: An Interactive Perception Network for LLMs"]
    assert lmeye["author"] == "Li, Yunxin and Hu, Baotian"
    assert "url" not in lmeye
    assert decode_latex(lmeye["abstract"]) == rows[0]["abstract"]  # untouched field follows the corpus
    assert got["A Hand-Added Paper"]["_key"] == "Smith"
    # The new paper's key steers clear of the hand-added one, ignoring case.
    assert got["Smith: A Clash With a Hand-Added Key"]["_key"] == "smithb"
    assert result.hand_added_kept == 1 and result.hand_edits_kept == 3 and result.conflicts == 0
    assert result.entries == 5
    # Idempotent: a third run changes nothing.
    once = bib.read_bytes()
    again = generate_bib(config)
    assert bib.read_bytes() == once and again.hand_edits_kept == 3 and again.new_keys == 0
    pybtex_strict(bib)


def test_a_file_saved_with_crlf_line_ends_keeps_its_edits(tmp_path):
    root = make_project(tmp_path, rows=PAPERS)
    config = load_config(root)
    generate_bib(config)
    text = config.bib.read_text(encoding="utf-8").replace(
        "title = {Token Merging for Fast Vision}",
        "title = {Token Merging for Fast Vision Transformers},\n  note = {two\nlines}")
    config.bib.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    result = generate_bib(config)
    assert result.hand_edits_kept == 2 and result.conflicts == 0
    assert b"\r" not in config.bib.read_bytes()
    assert "Token Merging for Fast Vision Transformers" in entries_by_title(config.bib)


def test_a_file_identical_to_the_base_is_merged_like_any_other(tmp_path):
    """When bib/survey.bib equals the merge base byte for byte, one parse serves as both;
    the result must be what the full merge gives: the generated entries, the author's
    comments and @string blocks kept, a hand entry present in both files dropped."""
    root = make_project(tmp_path, rows=PAPERS)
    config = load_config(root)
    generate_bib(config)
    extra = "\n% my note\n@string{acl = {ACL}}\n@misc{both,\n  title = {In Both Files}\n}\n"
    for path in (config.bib, base_path(config.bib)):
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    write_rows(root, [*PAPERS, {"title": "A New Paper Arrives", "abstract": "x"}])
    result = generate_bib(config)
    text = config.bib.read_text(encoding="utf-8")
    assert "% my note" in text and "@string{acl = {ACL}}" in text
    assert "In Both Files" not in text and "A New Paper Arrives" in text
    assert result.hand_added_kept == 0 and result.hand_edits_kept == 0 and result.entries == len(PAPERS) + 1
    base = parse_bib_text(base_path(config.bib).read_text(encoding="utf-8"))
    theirs_copy = parse_bib_text(base_path(config.bib).read_text(encoding="utf-8"))
    from surveylib.bibliography import merge_libraries
    full, _ = merge_libraries(base, read_bib(base_path(config.bib)), theirs_copy)
    assert [e.key for e in full.entries] == [e.key for e in read_bib(config.bib).entries]


def test_rewrapping_a_field_is_not_an_edit(tmp_path):
    root = make_project(tmp_path, rows=PAPERS)
    config = load_config(root)
    generate_bib(config)
    text = config.bib.read_text(encoding="utf-8").replace("abstract = {Merge tokens.}", "abstract = {Merge\n    tokens.}")
    config.bib.write_text(text, encoding="utf-8")
    write_rows(root, [*PAPERS[:1], dict(PAPERS[1], abstract="Merge tokens, revised."), PAPERS[2]])
    result = generate_bib(config)
    assert result.hand_edits_kept == 0 and result.conflicts == 0
    assert entries_by_title(config.bib)["Token Merging for Fast Vision"]["abstract"] == "Merge tokens, revised."


def test_conflicting_change_keeps_the_authors_value_and_reports_it(tmp_path):
    root = make_project(tmp_path, rows=PAPERS)
    config = load_config(root)
    generate_bib(config)
    bib = config.bib
    bib.write_text(bib.read_text(encoding="utf-8").replace("abstract = {Bias.}", "abstract = {My own summary.}"),
                   encoding="utf-8")
    write_rows(root, [*PAPERS[:2], dict(PAPERS[2], abstract="Bias, revised.")])
    result = generate_bib(config)
    assert result.conflicts == 1 and result.details["conflicts"] == ["modality-bias-vqa.abstract"]
    assert entries_by_title(bib)["Modality Bias in VQA"]["abstract"] == "My own summary."


def test_a_broken_hand_edit_stops_without_touching_the_file(tmp_path):
    root = make_project(tmp_path, rows=PAPERS)
    config = load_config(root)
    generate_bib(config)
    broken = config.bib.read_text(encoding="utf-8").replace("abstract = {Bias.}", "abstract = {Bias.")
    config.bib.write_text(broken, encoding="utf-8")
    with pytest.raises(SurveyError) as err:
        generate_bib(config)
    assert "survey.bib:" in str(err.value)
    assert config.bib.read_text(encoding="utf-8") == broken


def test_strings_preambles_and_comments_of_the_author_survive(tmp_path):
    root = make_project(tmp_path, rows=PAPERS)
    config = load_config(root)
    generate_bib(config)
    text = config.bib.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n\n")
    text = (head + "\n% my note under the header\n\n@string{conf = {Some Conference}}\n\n"
            "@preamble{\"\\newcommand{\\noop}[1]{}\"}\n\n" + rest)
    config.bib.write_text(text, encoding="utf-8")
    generate_bib(config)
    out = config.bib.read_text(encoding="utf-8")
    assert "% my note under the header" in out and "@string{conf" in out and "@preamble{" in out
    assert out.count("% Generated by `survey bib`") == 1
    generate_bib(config)
    assert config.bib.read_text(encoding="utf-8") == out
    pybtex_strict(config.bib)


def test_a_key_renamed_in_the_pin_file_keeps_the_entry_edits(tmp_path):
    root = make_project(tmp_path, rows=PAPERS)
    config = load_config(root)
    generate_bib(config)
    text = config.bib.read_text(encoding="utf-8").replace("abstract = {Bias.}", "abstract = {Bias.},\n  note = {mine}")
    config.bib.write_text(text, encoding="utf-8")
    keys = config.keys.read_text(encoding="utf-8").replace("modality-bias-vqa,", "li2024bias,")
    config.keys.write_text(keys, encoding="utf-8")
    result = generate_bib(config)
    got = entries_by_title(config.bib)
    assert got["Modality Bias in VQA"]["_key"] == "li2024bias"
    assert got["Modality Bias in VQA"]["note"] == "mine"
    assert result.entries == 3 and result.hand_added_kept == 0


def test_removed_paper_is_dropped_unless_edited(tmp_path):
    root = make_project(tmp_path, rows=PAPERS)
    config = load_config(root)
    generate_bib(config)
    text = config.bib.read_text(encoding="utf-8").replace("abstract = {Bias.}", "abstract = {Bias.},\n  note = {keep me}")
    config.bib.write_text(text, encoding="utf-8")
    write_rows(root, PAPERS[:1])
    result = generate_bib(config)
    assert result.entries == 2  # lmeye, and the edited entry whose paper left
    assert result.details["orphans_kept"] == ["modality-bias-vqa"]
    assert "Token Merging for Fast Vision" not in entries_by_title(config.bib)


# --- keys, determinism, metadata ------------------------------------------------------------------

def test_keys_stay_put_when_a_new_paper_arrives_ahead(tmp_path):
    root = make_project(tmp_path, rows=PAPERS)
    config = load_config(root)
    generate_bib(config)
    before = {t: f["_key"] for t, f in entries_by_title(config.bib).items()}
    write_rows(root, [{"title": "LMEye: A Different Paper With the Same Method Name", "abstract": "new"}, *PAPERS])
    result = generate_bib(config)
    after = {t: f["_key"] for t, f in entries_by_title(config.bib).items()}
    assert all(after[t] == k for t, k in before.items())
    assert after["LMEye: A Different Paper With the Same Method Name"] == "lmeyeb"
    assert result.new_keys == 1


def test_output_is_deterministic(tmp_path):
    a = make_project(tmp_path / "a", source=ADVERSARIAL)
    b = make_project(tmp_path / "b", source=ADVERSARIAL)
    generate_bib(load_config(a))
    first = (a / "bib" / "survey.bib").read_bytes()
    generate_bib(load_config(a))
    generate_bib(load_config(b))
    assert (a / "bib" / "survey.bib").read_bytes() == first == (b / "bib" / "survey.bib").read_bytes()
    assert base_path(a / "bib" / "survey.bib").read_bytes() == first  # no edits: base == file


def test_metadata_fills_authors_year_eprint_only_from_found_records(tmp_path):
    from surveylib.corpus import normalize_title

    root = make_project(tmp_path, rows=PAPERS)
    meta = {"version": 1, "papers": {
        normalize_title(PAPERS[0]["title"]): {"status": "found", "authors": ["Yunxin Li", "Jürgen M{\\\"u}ller"],
                                              "year": 2023, "eprint": "2305.03701", "archive_prefix": "arXiv",
                                              "primary_class": "cs.CV", "url": "https://arxiv.org/abs/2305.03701"},
        normalize_title(PAPERS[1]["title"]): {"status": "ambiguous", "authors": ["Wrong Person"], "year": 1999},
    }}
    (root / "bib").mkdir()
    (root / "bib" / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    generate_bib(load_config(root))
    got = entries_by_title(root / "bib" / "survey.bib")
    lmeye = got["LMEye: An Interactive Perception Network"]
    assert decode_latex(lmeye["author"]) == "Yunxin Li and Jürgen M{\\\"u}ller"
    assert (lmeye["year"], lmeye["eprint"], lmeye["archiveprefix"], lmeye["primaryclass"]) == \
        ("2023", "2305.03701", "arXiv", "cs.CV")
    assert lmeye["url"] == "https://github.com/a/lmeye"
    merging = got["Token Merging for Fast Vision"]
    assert "author" not in merging and "year" not in merging  # never invented
    names = pybtex_strict(root / "bib" / "survey.bib").entries["lmeye"].persons["author"]
    assert len(names) == 2


def test_a_bib_source_keeps_its_type_authors_year_doi_and_eprint(tmp_path):
    root = make_project(tmp_path, rows=[])
    (root / "sources" / "papers.jsonl").unlink()
    shutil.copy(FIXTURES / "bib_source.bib", root / "sources" / "refs.bib")
    text = (root / "survey.toml").read_text(encoding="utf-8").replace("sources/papers.jsonl", "sources/refs.bib")
    (root / "survey.toml").write_text(text, encoding="utf-8")
    generate_bib(load_config(root))
    bib = root / "bib" / "survey.bib"
    lib = read_bib(bib)
    types = {e.key: e.entry_type for e in lib.entries}
    assert types == {"sparse-tokens-vision": "article", "llava-tiny": "misc"}
    got = entries_by_title(bib)
    sparse = got["Sparse Tokens for Vision Transformers"]
    assert decode_latex(sparse["author"]) == "Müller, Hans and Doe, Jane"
    assert (sparse["year"], sparse["doi"]) == ("2021", "10.1000/xyz_123")
    tiny = got["LLaVA-Tiny: A Small Model"]
    assert (tiny["eprint"], tiny["archiveprefix"], tiny["primaryclass"]) == ("2401.01234", "arXiv", "cs.CV")
    assert pybtex_strict(bib).entries["sparse-tokens-vision"].persons["author"][0].last_names == ["Müller"]
    run_bibtex(bib, tmp_path)


def test_keywords_are_written(tmp_path):
    root = make_project(tmp_path, rows=PAPERS)
    generate_bib(load_config(root), keywords={"lmeye": ["Token compression", "R&D_themes"]})
    lmeye = entries_by_title(root / "bib" / "survey.bib")["LMEye: An Interactive Perception Network"]
    assert lmeye["keywords"] == "Token compression, R\\&D\\_themes"


def test_duplicate_titles_in_a_hand_made_corpus_are_refused(tmp_path):
    root = make_project(tmp_path, rows=PAPERS)
    corpus = to_frame([Paper("Same Title", "a"), Paper("same title!", "b")])
    with pytest.raises(SurveyError):
        generate_bib(load_config(root), corpus=corpus)


def test_cli_help_states_the_rules_and_the_command_runs(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["bib", "--help"])
    out = capsys.readouterr().out
    assert "Keys:" in out and "Merge:" in out and "bib/keys.csv" in out
    assert RULES.splitlines()[0] in out
    root = make_project(tmp_path, rows=PAPERS)
    assert main(["bib", "--config", str(root)]) == 0
    assert "3 entries" in capsys.readouterr().out
    assert main(["bib", "--config", str(root), "--bib", str(tmp_path / "other.bib")]) == 0
    assert (tmp_path / "other.bib").exists()
    assert pd.read_csv(root / "bib" / "keys.csv")["key"].tolist() == ["lmeye", "token-merging-fast", "modality-bias-vqa"]
