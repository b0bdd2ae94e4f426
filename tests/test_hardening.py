"""Hardening: bad sources give a clear error or a counted, located skip, through the library and the
`survey` CLI, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from surveylib.corpus import IngestReport
from surveylib.errors import SourceError, SurveyError
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


def test_output_piped_into_a_reader_that_stops_early_is_no_traceback(tmp_path):
    # `survey eval LABELS | head`: the reader closes the pipe after a few lines. The report here is
    # far larger than a pipe's buffer (every paper is a listed miss), so the command is still writing.
    labels = tmp_path / "labels.jsonl"
    with labels.open("w", encoding="utf-8") as out:
        for i in range(3000):
            out.write(json.dumps({"title": f"A study of cooking recipes number {i} " + "x" * 60,
                                  "abstract": "Recipes.", "alpha": True, "beta": False}) + "\n")
    taxonomy = Path(__file__).parent / "fixtures" / "tax_mini.toml"
    proc = subprocess.Popen([str(SURVEY), "eval", str(labels), "--taxonomy", str(taxonomy)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b"3000 labelled papers")
    proc.stdout.close()  # what head does after its lines
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_survey_ingest_cli_json_counts_every_skip(tmp_path):
    (tmp_path / "a.txt").write_text(f"Mar 13\n\nLonely Title\n\nGood Paper\n\n{ABSTRACT}\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"abstract": "no title"}\nnot json\n', encoding="utf-8")
    result = run_survey(tmp_path, "ingest", "--json", "a.txt", "b.jsonl")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["listings"], data["papers"], data["skipped"]) == (1, 1, 3)
    assert sorted(i["where"] for i in data["issues"]) == ["a.txt:3", "b.jsonl:1", "b.jsonl:2"]


# --- interrupted writes, concurrent runs, regeneration ------------------------------------
# Every test here works in a copy of the project under tmp_path, never on the real bib/.

import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402

import bibtexparser  # noqa: E402
import nbformat  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NEW_PAGE = "Daily Papers\n\nJun 2\n\n{body}\n"


def make_project(root: Path, sources: int = 4, notebook: bool = False) -> Path:
    """A survey project in ``root``: the first ``sources`` shipped pages, the repo's taxonomy and
    pinned keys, an overrides file, and optionally one small section notebook."""
    (root / "bib" / "sources").mkdir(parents=True)
    for page in sorted((REPO / "bib" / "sources").glob("*.txt"))[:sources]:
        shutil.copy(page, root / "bib" / "sources" / page.name)
    shutil.copy(REPO / "bib" / "taxonomy.toml", root / "bib" / "taxonomy.toml")
    shutil.copy(REPO / "bib" / "learned.json", root / "bib" / "learned.json")  # the model the taxonomy names
    shutil.copy(REPO / "bib" / "keys.csv", root / "bib" / "keys.csv")
    (root / "bib" / "overrides.csv").write_text("key,theme,value,note\n", encoding="utf-8")
    toml = '[survey]\ntitle = "Hardening survey"\nauthors = ["Tester"]\n[corpus]\nsources = ["bib/sources/*.txt"]\n'
    if notebook:
        toml += '[build]\nnotebooks = ["notebooks/01_intro.ipynb"]\nformats = ["html"]\noutput = "build"\n'
        write_notebook(root, "first")
    (root / "survey.toml").write_text(toml, encoding="utf-8")
    return root


def write_notebook(root: Path, marker: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# Introduction\n\nVersion marker {marker}. LMEye adds a perception network [@lmeye]."),
        nbformat.v4.new_code_cell(f"print('computed', {len(marker)} * 7)"),
    ]
    (root / "notebooks").mkdir(exist_ok=True)
    nbformat.write(nb, root / "notebooks" / "01_intro.ipynb")


def new_papers(round_: int, count: int = 3) -> str:
    """A Daily Papers page with ``count`` new papers for regeneration round ``round_``."""
    blocks = []
    for j in range(count):
        title = f"Regen{round_}x{j}: Sparse Visual Tokens for Round {round_} Paper {j}"
        blocks.append(f"{title}\n\n" + f"We study round {round_} paper {j}, a token pruning method. " * 4)
    return NEW_PAGE.format(body="\n\n".join(blocks))


def start(project: Path, *args: str) -> subprocess.Popen:
    # A session of its own, so SIGKILL reaches the kernels a build starts too.
    return subprocess.Popen([str(SURVEY), *args], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def kill_when(proc: subprocess.Popen, folder: Path, prefixes: tuple[str, ...], delay: float | None,
              limit: float = 120.0) -> str | None:
    """SIGKILL ``proc`` after ``delay`` seconds, or as soon as a file starting with one of
    ``prefixes`` appears in ``folder`` (a write in progress). Returns "delay" or "mid-write"
    for how it was killed, None when it finished first."""
    started = time.monotonic()
    while proc.poll() is None:
        elapsed = time.monotonic() - started
        mid_write = folder.exists() and any(p.name.startswith(prefixes) for p in folder.iterdir())
        if (delay is not None and elapsed >= delay) or (delay is None and mid_write) or elapsed > limit:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return "mid-write" if delay is None and mid_write else "delay"
        time.sleep(0.001)
    return None


def parses(path: Path) -> bool:
    library = bibtexparser.parse_string(path.read_text(encoding="utf-8"))
    return not library.failed_blocks and len(library.entries) > 0


def test_killed_survey_bib_leaves_the_previous_bib_intact(tmp_path):
    project = make_project(tmp_path / "p", sources=2)
    assert run_survey(project, "bib").returncode == 0
    files = ["bib/survey.bib", "bib/keys.csv", "bib/.survey.base.bib"]
    # Kill points: fixed delays through the run, and the moment a temporary output file appears.
    kill_points = [0.05, 0.3, 0.6, 0.9, 1.2, None, None, None]
    killed_mid_write = 0
    for round_, delay in enumerate(kill_points):
        (project / "bib" / "sources" / f"new_{round_:02d}.txt").write_text(new_papers(round_), encoding="utf-8")
        before = {f: (project / f).read_bytes() for f in files}
        # What a complete run from this state writes, computed in a copy.
        twin = tmp_path / f"twin{round_}"
        shutil.copytree(project, twin)
        assert run_survey(twin, "bib").returncode == 0
        after = {f: (twin / f).read_bytes() for f in files}
        assert after["bib/survey.bib"] != before["bib/survey.bib"]

        proc = start(project, "bib")
        killed = kill_when(proc, project / "bib", (".survey.bib.", ".keys.csv.", "..survey.base.bib."), delay)
        killed_mid_write += killed == "mid-write"
        for f in files:
            now = (project / f).read_bytes()
            assert now in (before[f], after[f]), f"round {round_}: {f} is neither the old nor the new file"
        assert parses(project / "bib" / "survey.bib")
        shutil.rmtree(twin)
    assert killed_mid_write >= 1, "no kill landed while an output file was being written"
    # The next run completes normally and nothing is left locked.
    result = run_survey(project, "bib")
    assert result.returncode == 0, result.stderr


def test_killed_survey_build_leaves_the_previous_html_intact(tmp_path):
    project = make_project(tmp_path / "p", sources=1, notebook=True)
    assert run_survey(project, "bib").returncode == 0
    first = run_survey(project, "build", "--to", "html")
    assert first.returncode == 0, first.stdout + first.stderr
    html = project / "build" / "survey.html"
    previous = html.read_bytes()
    assert b"Version marker first" in previous
    kill_points = [0.5, 2.0, None, None]  # during execution, then while the output is staged/written
    killed_mid_write = 0
    for n, delay in enumerate(kill_points):
        marker = f"edit{n}"
        write_notebook(project, marker)
        proc = start(project, "build", "--to", "html")
        how = kill_when(proc, project / "build", (".stage-", ".survey.html."), delay)
        killed_mid_write += how == "mid-write"
        now = html.read_bytes()
        if now != previous:
            # Replaced: then completely, with this round's text.
            assert f"Version marker {marker}".encode() in now and now.rstrip().endswith(b"</html>")
        previous = now
    assert killed_mid_write >= 1, "no kill landed while the output was being staged or written"
    write_notebook(project, "final")
    result = run_survey(project, "build", "--to", "html")
    assert result.returncode == 0, result.stdout + result.stderr
    assert b"Version marker final" in html.read_bytes()
    # whatever the kills left (staging folders, half-written files) is gone after this build
    assert not leftovers(project / "build")


def leftovers(build: Path) -> list[str]:
    """What an interrupted build can leave: staging folders, temporary and set-aside files."""
    names = [p.name for p in build.iterdir()] + [p.name for p in (build / ".cache").glob(".*")]
    return sorted(n for n in names if n.startswith(".stage-") or n.endswith(".tmp") or ".old-" in n)


def test_next_build_sweeps_what_a_killed_build_left(tmp_path):
    """SIGKILL while the output is staged leaves build/.stage-*; the next build removes it
    and leaves the previous page untouched until the new one is complete."""
    project = make_project(tmp_path / "p", sources=1, notebook=True)
    assert run_survey(project, "bib").returncode == 0
    assert run_survey(project, "build", "--to", "html").returncode == 0
    html = project / "build" / "survey.html"
    left: list[str] = []
    for n in range(6):  # the kill must land while the staging folder exists; retry if it missed
        previous = html.read_bytes()
        write_notebook(project, f"kill{n}")
        proc = start(project, "build", "--to", "html")
        kill_when(proc, project / "build", (".stage-",), None)
        now = html.read_bytes()
        assert now == previous or (f"Version marker kill{n}".encode() in now and now.rstrip().endswith(b"</html>"))
        left = [name for name in leftovers(project / "build") if name.startswith(".stage-")]
        if left:
            break
    assert left, "no kill landed while the build was staging"
    write_notebook(project, "after")
    result = run_survey(project, "build", "--to", "html")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "leftover(s) of an interrupted build" in result.stdout and left[0] in result.stdout
    assert not leftovers(project / "build")
    assert b"Version marker after" in html.read_bytes()


def processes_in(folder: Path) -> list[str]:
    """Command lines of the live processes whose working folder is ``folder`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")) == folder:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="/proc and the kernel zygote are Linux only")
def test_killing_the_build_alone_ends_its_kernels_and_zygote(tmp_path):
    """SIGKILL to the build process only (not its process group): the zygote and the kernels
    it forked, and the stand-in processes, all end by themselves."""
    project = make_project(tmp_path / "p", sources=1, notebook=True).resolve()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Slow"), nbformat.v4.new_code_cell("import time\ntime.sleep(60)")]
    nbformat.write(nb, project / "notebooks" / "02_slow.ipynb")
    toml = project / "survey.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        '["notebooks/01_intro.ipynb"]', '["notebooks/01_intro.ipynb", "notebooks/02_slow.ipynb"]'), encoding="utf-8")
    assert run_survey(project, "bib").returncode == 0
    proc = start(project, "build", "--to", "html")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("time.sleep" in c or "zygote.py" in c for c in processes_in(project)):
        time.sleep(0.1)
    time.sleep(2)  # kernels running
    assert any("zygote.py" in c for c in processes_in(project)), processes_in(project)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while processes_in(project) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_in(project) == []


def test_sweep_keeps_the_staging_folder_of_a_live_process(tmp_path):
    from surveylib.build import sweep_stale

    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        out = tmp_path / "build"
        for name in (f".stage-{alive.pid}-a", f".stage-{dead.pid}-b"):
            (out / name).mkdir(parents=True)
            (out / name / "survey.html").write_text("partial", encoding="utf-8")
        (out / ".survey.html.x1y2.tmp").write_text("half", encoding="utf-8")
        (out / "survey.html").write_text("<html>good</html>", encoding="utf-8")
        assert sweep_stale(out) == [".stage-%d-b" % dead.pid, ".survey.html.x1y2.tmp"]
        assert sorted(p.name for p in out.iterdir()) == [f".stage-{alive.pid}-a", "survey.html"]
    finally:
        alive.kill()
        alive.wait()


def test_two_builds_at_once_do_not_corrupt_the_output(tmp_path):
    project = make_project(tmp_path / "p", sources=1, notebook=True)
    assert run_survey(project, "bib").returncode == 0
    write_notebook(project, "concurrent")
    procs = [start(project, "build", "--to", "html") for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0 and "Traceback" not in err, out + err
    html = (project / "build" / "survey.html").read_bytes()
    assert b"Version marker concurrent" in html and html.rstrip().endswith(b"</html>")
    assert not [p.name for p in (project / "build").iterdir() if p.name.startswith((".stage-", ".survey.html."))]


def test_bib_and_build_at_once_do_not_corrupt_the_output(tmp_path):
    """Different commands take the same project lock: a build started while `survey bib`
    rewrites the bibliography waits for it, then builds from the complete file."""
    project = make_project(tmp_path / "p", sources=2, notebook=True)
    # A first bibliography, so the build has one whichever command gets the lock first; the
    # concurrent `survey bib` then rewrites it (a new source) while the build and taxonomy run.
    assert start(project, "bib").wait(timeout=600) == 0
    (project / "bib" / "sources" / "extra.txt").write_text(
        "Daily Papers\nby AK\n\nA Newly Added Paper on Token Pruning for Video LLMs\n"
        "We prune redundant video tokens in multimodal models.\n", encoding="utf-8")
    procs = [start(project, "bib"), start(project, "build", "--to", "html"), start(project, "taxonomy")]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0 and "Traceback" not in err, out + err
    assert parses(project / "bib" / "survey.bib")
    page = (project / "build" / "survey.html").read_bytes()
    assert b"Version marker first" in page and page.rstrip().endswith(b"</html>")


@pytest.mark.parametrize("command", [["bib"], ["taxonomy"], ["build", "--to", "html"]])
def test_a_writer_waits_for_the_project_lock_then_stops_clearly(tmp_path, command):
    """While another command holds the project lock, each writer says what it waits for and,
    after SURVEYLIB_LOCK_TIMEOUT, stops with an error (no traceback) having written nothing."""
    from surveylib.io import project_lock

    project = make_project(tmp_path / "p", sources=1, notebook=True)
    assert run_survey(project, "bib").returncode == 0
    before = {p: p.read_bytes() for p in (project / "bib").rglob("*") if p.is_file()}
    env = dict(os.environ, SURVEYLIB_LOCK_TIMEOUT="1")
    with project_lock(project, "enrich", notice=None):
        proc = subprocess.run([str(SURVEY), *command], cwd=project, capture_output=True, text=True, env=env,
                              timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out
    assert f"waiting for `survey enrich` (pid {os.getpid()}" in out
    assert "still holds the project lock after 1 s" in proc.stderr
    assert {p: p.read_bytes() for p in (project / "bib").rglob("*") if p.is_file()} == before
    assert not (project / "build" / "survey.html").exists()


def test_a_waiting_command_runs_once_the_lock_is_free(tmp_path):
    import threading

    from surveylib.io import project_lock

    project = make_project(tmp_path / "p", sources=1)
    with project_lock(project, "build", notice=None):
        proc = start(project, "bib")
        time.sleep(3)  # time enough to write, had it not waited
        assert proc.poll() is None and not (project / "bib" / "survey.bib").exists()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert "waiting for `survey build`" in err and parses(project / "bib" / "survey.bib")
    # in one process the lock is re-entrant per thread; another thread waits like another process
    with project_lock(project, "taxonomy"):
        with project_lock(project, "bib"):
            failed = []

            def other():
                try:
                    with project_lock(project, "build", timeout=0.2, notice=None):
                        pass
                except SurveyError as exc:
                    failed.append(str(exc))

            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
            assert failed and "`survey taxonomy`" in failed[0]


def test_two_bibs_at_once_do_not_corrupt_the_output(tmp_path):
    project = make_project(tmp_path / "p", sources=2)
    twin = tmp_path / "twin"
    shutil.copytree(project, twin)
    procs = [start(project, "bib") for _ in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "Traceback" not in err, out + err
    assert parses(project / "bib" / "survey.bib")
    # Three runs at once write what one run alone writes.
    assert run_survey(twin, "bib").returncode == 0
    assert (project / "bib" / "survey.bib").read_bytes() == (twin / "bib" / "survey.bib").read_bytes()


def _entries(path: Path) -> dict:
    library = bibtexparser.parse_string(path.read_text(encoding="utf-8"), parse_stack=[])
    assert not library.failed_blocks
    return {e.key: {f.key: f.value for f in e.fields} for e in library.entries}


def test_ten_regenerations_keep_hand_edits_and_pinned_keys(tmp_path):
    project = make_project(tmp_path / "p", sources=3)
    assert run_survey(project, "bib").returncode == 0
    bib = project / "bib" / "survey.bib"
    entries = _entries(bib)
    edited, noted, trimmed = sorted(entries)[:3]
    text = bib.read_text(encoding="utf-8")
    # Hand edits: a changed title, an added field, a deleted field, an entry of the author's own.
    old_title = entries[edited]["title"]
    text = text.replace(f"title = {old_title}", "title = {My Own {Title} for This Paper}", 1)
    text = text.replace(f"@misc{{{noted},", f"@misc{{{noted},\n  note = {{Checked by hand}},", 1)
    abstract = entries[trimmed]["abstract"]
    text = text.replace(f",\n  abstract = {abstract}", "", 1)
    text += "\n@book{handbook2020,\n  title = {A Book Added by Hand},\n  author = {Doe, Jane},\n  year = {2020}\n}\n"
    bib.write_text(text, encoding="utf-8")
    overrides = project / "bib" / "overrides.csv"
    overrides.write_text(f"key,theme,value,note\n{edited},token_compression,true,read the paper\n"
                         f"{noted},modality_bias,false,not about bias\n", encoding="utf-8")
    overrides_text = overrides.read_text(encoding="utf-8")
    pins_before = (project / "bib" / "keys.csv").read_text(encoding="utf-8").splitlines()

    for round_ in range(10):
        page = new_papers(round_)
        if round_ == 4:  # a new paper whose natural key is taken: the pinned key must not move
            page = page.replace(f"Regen{round_}x0", "LMEye")
        (project / "bib" / "sources" / f"new_{round_:02d}.txt").write_text(page, encoding="utf-8")
        command = "taxonomy" if round_ % 2 else "bib"   # both regenerate bib/survey.bib
        result = run_survey(project, command)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr
        got = _entries(bib)
        assert got[edited]["title"] == "{My Own {Title} for This Paper}", round_
        assert got[noted].get("note") == "{Checked by hand}", round_
        assert "abstract" not in got[trimmed], round_
        assert got["handbook2020"]["title"] == "{A Book Added by Hand}", round_
        assert len(got) == len(entries) + 1 + 3 * (round_ + 1), round_
        pins = (project / "bib" / "keys.csv").read_text(encoding="utf-8").splitlines()
        assert pins[:len(pins_before)] == pins_before or set(pins_before) <= set(pins), round_
        assert set(pins_before) <= set(pins), f"round {round_}: a pinned key changed or vanished"
        assert overrides.read_text(encoding="utf-8") == overrides_text, round_
    assert "lmeye" in got and any(k.startswith("lmeye") and k != "lmeye" for k in got)


def test_keys_never_run_out_for_one_method_name():
    # Found by the 100k benchmark: 651+ papers sharing a method name used to raise StopIteration.
    from surveylib.bibliography import assign_keys

    titles = [f"SameName: A Study of Variant {i}" for i in range(1200)]
    keys, pins = assign_keys(titles, {})
    assert len(set(k.lower() for k in keys)) == 1200
    assert keys[:3] == ["samename", "samenameb", "samenamec"] and keys[650] == "samenamezz" and keys[651] == "samenamebbb"


def test_a_notebook_that_writes_the_project_fails_at_once_during_a_build(tmp_path):
    """A notebook calling a writer (here generate_bib) while `survey build` holds the project
    lock would wait for the build that waits for it: it stops at once, naming the cause."""
    project = make_project(tmp_path / "p", sources=1, notebook=True)
    assert run_survey(project, "bib").returncode == 0
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Writer"), nbformat.v4.new_code_cell(
        "import surveylib as sl\nfrom surveylib.bibliography import generate_bib\ngenerate_bib(sl.open_survey().config)")]
    nbformat.write(nb, project / "notebooks" / "01_intro.ipynb")
    result = run_survey(project, "build", "--to", "html")  # run_survey's timeout is far below the lock's
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot write the project (the build holds its lock)" in result.stderr
