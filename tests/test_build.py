"""survey build end to end on a small fixture project (tests/fixtures/build_project), with the
real tools: nbclient kernels, nbconvert, pybtex, xelatex/bibtex/latexmk, pdftotext, Chromium."""
from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from surveylib.build import build_survey
from surveylib.config import load_config
from surveylib.errors import SurveyError

FIXTURE = Path(__file__).parent / "fixtures" / "build_project"
IN_CI = os.environ.get("CI") == "true"


def need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        if IN_CI:
            pytest.fail(f"{tool} is required in CI")
        pytest.skip(f"{tool} not installed")
    return path


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return need("chromium")


def copy_project(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".survey.lock", ".stage-*"))
    return dest


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The fixture project built once to HTML (and its execution cache)."""
    root = copy_project(FIXTURE, tmp_path_factory.mktemp("built") / "proj")
    lines: list[str] = []
    result = build_survey(load_config(root), formats=("html",), progress=lines.append)
    return root, result, lines


def edit_cell(root: Path, notebook: str, index: int, source: str, cell_type: str = "markdown") -> None:
    path = root / "notebooks" / notebook
    nb = nbformat.read(path, as_version=4)
    new = nbformat.v4.new_markdown_cell(source) if cell_type == "markdown" else nbformat.v4.new_code_cell(source)
    nb.cells.insert(index, new)
    nbformat.write(nb, path)


def add_notebook(root: Path, name: str, heading: str, code: str) -> None:
    """A third notebook (a heading and one code cell) written and listed after 02_methods in survey.toml."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(heading), nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, root / "notebooks" / name)
    toml = root / "survey.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        '"notebooks/02_methods.ipynb"]', f'"notebooks/02_methods.ipynb", "notebooks/{name}"]'), encoding="utf-8")


# -- structure of the HTML ---------------------------------------------------------------------

class _Collect(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.cites, self.refs, self.backrefs, self.body_attrs = set(), [], [], [], {}
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body_attrs = a
        if tag in ("style", "script"):
            self._skip += 1
        if "id" in a:
            self.ids.add(a["id"])
        cls = a.get("class", "") or ""
        if tag == "a" and "cite" in cls.split():
            self.cites.append(a["href"])
        if tag == "a" and "backref" in cls.split():
            self.backrefs.append(a["href"])
        if tag == "li" and (a.get("id") or "").startswith("ref-"):
            self.refs.append(a["id"])

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(text: str) -> _Collect:
    p = _Collect()
    p.feed(text)
    return p


def test_html_structure(built):
    root, result, lines = built
    page = (root / "build" / "survey.html").read_text(encoding="utf-8")
    doc = parse(page)
    text = "".join(doc.text)
    # every citation lands on a bibliography entry; one entry per cited key, in citation order
    assert doc.cites and all(href[1:] in doc.ids and href.startswith("#ref-") for href in doc.cites)
    cited = list(dict.fromkeys(h[1:] for h in doc.cites))
    assert doc.refs == cited == ["ref-alpha", "ref-beta-net", "ref-gamma", "ref-hostile"]
    assert all(h[1:] in doc.ids for h in doc.backrefs)  # back-links land on citing places
    shown_code = re.compile(r'<div class="jp-CodeMirrorEditor.*?</pre>', re.S)  # code cells tagged show-input
    assert "[@" not in "".join(parse(shown_code.sub("", page)).text)
    assert "ref-unused" not in doc.ids  # the author-only cell is dropped
    # title block, TOC, numbered sections/figures/tables, hidden vs shown inputs, removed cells
    assert "A Test Survey of <Things> & Stuff" in text and "Ada Lovelace" in text
    flat = " ".join(text.split())
    for heading in ("1 Introduction", "1.1 Scope", "2 Methods", "2.1 Open problems", "References"):
        assert heading in flat
    assert "Figure 1. Papers per sub-theme [3]" in flat and "Table 1. Methods" in flat and "see Figure 1" in flat
    assert "table(df" in text  # show-input cell shows its code
    assert "print(&#x27;hidden" not in page and "hidden input, visible output" in text
    assert "transport" not in text  # remove-cell
    assert "survey@example.com" in text and "@property" in text and "mailto:x@y.org" in page
    assert "Gamma [" in text  # narrative citation names the author
    assert re.search(r'<img[^>]+src="data:image/png;base64,', page)  # figure embedded
    # self-contained: nothing to fetch (no external scripts, stylesheets or images)
    assert not re.search(r'<script[^>]+src=|<link[^>]+href="http|<img[^>]+src="http|@import', page)
    assert result.executed == ["notebooks/01_intro.ipynb", "notebooks/02_methods.ipynb"]
    assert any(line.startswith("[1/2]") for line in lines) and any("[2/2]" in line for line in lines)


def test_kernels_use_ipc_and_project_root(built):
    root, _, _ = built
    (cached,) = (root / "build" / ".cache").glob("01_intro-*.ipynb")
    nb = nbformat.read(cached, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "transport ipc cwd-is-root True" in printed


CHECK_JS = """
<script>
window.addEventListener('load', () => {
  const imgs = [...document.querySelectorAll('figure img')].map(i => i.naturalWidth);
  const cites = [...document.querySelectorAll('a.cite')];
  const bad = cites.filter(a => { const t = document.getElementById(a.getAttribute('href').slice(1));
                                   return !t || !t.closest('section.references'); }).length;
  const out = document.createElement('pre'); out.id = 'test-report';
  out.textContent = JSON.stringify({imgs, cites: cites.length, bad,
      entries: document.querySelectorAll('section.references li').length,
      literal: (() => { const b = document.body.cloneNode(true);
        b.querySelectorAll('.jp-InputArea-editor, script, style').forEach(e => e.remove());
        return b.textContent.includes('[@'); })()});
  document.body.appendChild(out);
});
</script>
"""


def dump_dom(html_file: Path, tmp_path: Path) -> str:
    exe = chromium()
    proc = subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'chrome'}",
         "--virtual-time-budget=5000", "--dump-dom", html_file.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_html_in_chromium(built, tmp_path):
    """The page as a browser sees it: links land, figures decode, the hostile abstract is inert."""
    root, _, _ = built
    page = (root / "build" / "survey.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"  # the page plus a reporting script (the build output is untouched)
    probe.write_text(page.replace("</body>", CHECK_JS + "</body>"), encoding="utf-8")
    dom = dump_dom(probe, tmp_path)
    report = json.loads(html.unescape(re.search(r'<pre id="test-report">(.*?)</pre>', dom, re.S).group(1)))
    assert report["cites"] > 0 and report["bad"] == 0
    assert report["entries"] == 4 and report["literal"] is False
    assert report["imgs"] and all(w > 0 for w in report["imgs"])
    # the unmodified page: the script and onerror in the abstract never ran
    dom = dump_dom(root / "build" / "survey.html", tmp_path)
    assert "data-pwned" not in parse(dom).body_attrs
    assert "document.body.setAttribute(&#x27;data-pwned&#x27;" in dom or "setAttribute('data-pwned'" in html.unescape(dom)


def test_cache_hit_on_unchanged_build(built, tmp_path):
    root = copy_project(built[0], tmp_path / "proj")  # a moved project keeps its cache
    before = (root / "build" / "survey.html").stat().st_mtime_ns
    lines: list[str] = []
    result = build_survey(load_config(root), formats=("html",), progress=lines.append)
    assert result.executed == [] and result.up_to_date
    assert sum("cached" in line for line in lines) == 2
    assert (root / "build" / "survey.html").stat().st_mtime_ns == before


def test_prose_edit_reuses_the_outputs_and_matches_a_fresh_build(built, tmp_path):
    """A markdown-only edit re-executes nothing; the page is the one a build from scratch
    (every notebook executed again) writes."""
    root = copy_project(built[0], tmp_path / "proj")
    edit_cell(root, "02_methods.ipynb", 3, "A new paragraph citing [@gamma].")
    lines: list[str] = []
    result = build_survey(load_config(root), formats=("html",), progress=lines.append)
    assert result.executed == [] and not result.up_to_date
    assert result.cached == ["notebooks/01_intro.ipynb", "notebooks/02_methods.ipynb"]
    page = (root / "build" / "survey.html").read_text(encoding="utf-8")
    assert "A new paragraph citing" in page
    fresh = copy_project(root, tmp_path / "fresh")
    shutil.rmtree(fresh / "build")
    again = build_survey(load_config(fresh), formats=("html",), use_cache=False, progress=None)
    assert again.executed == ["notebooks/01_intro.ipynb", "notebooks/02_methods.ipynb"]
    assert (fresh / "build" / "survey.html").read_text(encoding="utf-8") == page


def test_editing_code_reexecutes_only_that_notebook(built, tmp_path):
    root = copy_project(built[0], tmp_path / "proj")
    edit_cell(root, "02_methods.ipynb", 3, "print('a new code cell ran')", cell_type="code")
    result = build_survey(load_config(root), formats=("html",), progress=None)
    assert result.executed == ["notebooks/02_methods.ipynb"]
    assert result.cached == ["notebooks/01_intro.ipynb"]
    assert "a new code cell ran" in (root / "build" / "survey.html").read_text(encoding="utf-8")


def test_code_that_reads_a_notebook_follows_its_citations(built, tmp_path):
    """A notebook whose code asks what another cites (Survey.cited) re-executes when that
    notebook's citations change, not when only its other prose does."""
    root = copy_project(built[0], tmp_path / "proj")
    add_notebook(root, "03_reader.ipynb", "# Reader",
                 "import surveylib as sl\n"
                 "print('intro cites', len(sl.open_survey().cited('01_intro.ipynb')), 'times')")
    first = build_survey(load_config(root), formats=("html",), progress=None)
    # survey.toml is data every notebook may read: changing it re-executes all of them
    assert first.executed == ["notebooks/01_intro.ipynb", "notebooks/02_methods.ipynb", "notebooks/03_reader.ipynb"]
    page = (root / "build" / "survey.html").read_text(encoding="utf-8")
    count = int(re.search(r"intro cites (\d+) times", page).group(1))
    assert count >= 5
    edit_cell(root, "01_intro.ipynb", 1, "Prose without a citation.")
    assert build_survey(load_config(root), formats=("html",), progress=None).executed == []
    edit_cell(root, "01_intro.ipynb", 1, "Now also [@alpha; @gamma].")
    result = build_survey(load_config(root), formats=("html",), progress=None)
    assert result.executed == ["notebooks/03_reader.ipynb"]
    assert f"intro cites {count + 2} times" in (root / "build" / "survey.html").read_text(encoding="utf-8")


def test_editing_data_reexecutes_all(built, tmp_path):
    root = copy_project(built[0], tmp_path / "proj")
    (root / "bib" / "sources" / "papers.txt").write_text("changed corpus\n", encoding="utf-8")
    result = build_survey(load_config(root), formats=("html",), progress=None)
    assert result.executed == ["notebooks/01_intro.ipynb", "notebooks/02_methods.ipynb"]


def test_failing_cell_keeps_previous_html(built, tmp_path):
    root = copy_project(built[0], tmp_path / "proj")
    before = (root / "build" / "survey.html").read_bytes()
    edit_cell(root, "02_methods.ipynb", 2, "raise ValueError('broken on purpose')", cell_type="code")
    proc = subprocess.run([sys.executable, "-c", "import sys; from surveylib.cli import main; sys.exit(main())", "build", "--to", "html",
                           "--config", str(root / "survey.toml")], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "notebooks/02_methods.ipynb cell 3" in proc.stderr
    assert "ValueError: broken on purpose" in proc.stderr and "Traceback" not in proc.stderr
    assert (root / "build" / "survey.html").read_bytes() == before
    assert not list((root / "build").glob(".stage-*"))


def test_unknown_key_names_its_location(built, tmp_path):
    root = copy_project(built[0], tmp_path / "proj")
    before = (root / "build" / "survey.html").read_bytes()
    edit_cell(root, "01_intro.ipynb", 1, "As claimed [@alpha; @no-such-paper].")
    with pytest.raises(SurveyError) as err:
        build_survey(load_config(root), formats=("html",), progress=None)
    assert err.value.where == "notebooks/01_intro.ipynb cell 2 | no-such-paper"
    assert (root / "build" / "survey.html").read_bytes() == before


def test_latex_bundle_and_pdf(built, tmp_path):
    """build/latex is a standalone bundle (tex, bib, figures); the PDF has every section and
    the references, with no unresolved citation."""
    need("xelatex"), need("bibtex"), need("pdftotext")
    root = copy_project(built[0], tmp_path / "proj")
    result = build_survey(load_config(root), formats=("latex", "pdf"), progress=None)
    assert result.executed == []  # the HTML build's executions are reused
    latex = root / "build" / "latex"
    tex = (latex / "survey.tex").read_text(encoding="utf-8")
    assert "\\citep{alpha,beta-net}" in tex and "\\citet{gamma}" in tex and "\\bibliography{survey}" in tex
    prose = "\n".join(line for line in tex.splitlines() if "\\PY{" not in line)  # minus shown code
    assert "[@" not in prose and (latex / "survey.bib").is_file()
    assert sorted(p.suffix for p in latex.iterdir() if p.name.startswith("output")) == [".pdf", ".png"]
    text = subprocess.run(["pdftotext", str(root / "build" / "survey.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    for title in ("Introduction", "Scope", "Methods", "Open problems", "References",
                  "Alpha: Token pruning", "Figure 1: Papers per sub-theme [3]", "Table 1:"):
        assert title in flat
    assert "??" not in text and "[?]" not in text
    # the bundle alone compiles with latexmk (what an arXiv upload needs)
    need("latexmk")
    bundle = shutil.copytree(latex, tmp_path / "upload")
    proc = subprocess.run(["latexmk", "-xelatex", "-interaction=nonstopmode", "-halt-on-error", "survey.tex"],
                          cwd=bundle, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    log = (bundle / "survey.log").read_text(errors="replace")
    assert not re.search(r"(Citation|Reference) `[^']*' on page \d+ undefined", log)


REAL_ROOT = Path(__file__).resolve().parent.parent
REAL_NOTEBOOKS = ["01_introduction", "02_token_compression", "03_modality_bias", "04_unified_generation",
                  "05_conclusion"]


@pytest.mark.skipif(not all((REAL_ROOT / "notebooks" / f"{n}.ipynb").is_file() for n in REAL_NOTEBOOKS)
                    or not (REAL_ROOT / "bib" / "survey.bib").is_file(),
                    reason="the five survey notebooks (notebooks/0*.ipynb) and bib/survey.bib are not all written yet")
def test_real_survey_html_and_pdf(tmp_path):
    """The repository's own survey: HTML checked in Chromium, PDF text checked with pdftotext."""
    need("xelatex"), need("pdftotext")
    root = tmp_path / "survey"
    shutil.copytree(REAL_ROOT, root, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "__pycache__", "*.egg-info", ".pytest_cache"))
    result = build_survey(load_config(root), formats=("html", "latex", "pdf"), progress=None)
    page = (root / "build" / "survey.html").read_text(encoding="utf-8")
    doc = parse(page)
    assert doc.cites and all(h[1:] in doc.ids for h in doc.cites)
    assert doc.refs == list(dict.fromkeys(h[1:] for h in doc.cites))
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", CHECK_JS + "</body>"), encoding="utf-8")
    report = json.loads(html.unescape(re.search(r'<pre id="test-report">(.*?)</pre>',
                                                dump_dom(probe, tmp_path), re.S).group(1)))
    assert report["bad"] == 0 and report["literal"] is False
    assert report["entries"] == len(set(result.cited))
    assert report["imgs"] and all(w > 0 for w in report["imgs"])
    text = subprocess.run(["pdftotext", str(root / "build" / "survey.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    from surveylib.build.assemble import section_title
    for nb in load_config(root).notebooks:
        title = section_title(nbformat.read(nb, as_version=4))
        assert title and " ".join(title.split()) in flat
    assert "References" in flat and "??" not in text and "[?]" not in text


def test_kernels_share_the_survey_the_build_computed_once(built, tmp_path):
    """Notebooks read the corpus and taxonomy the build computed once (build/.cache/survey-*.pkl),
    and get what they would compute themselves."""
    root = copy_project(built[0], tmp_path / "proj")
    page = sorted((REAL_ROOT / "bib" / "sources").glob("*.txt"))[0]
    shutil.copy(page, root / "bib" / "sources" / "papers.txt")
    shutil.copy(REAL_ROOT / "bib" / "taxonomy.toml", root / "bib" / "taxonomy.toml")
    shutil.copy(REAL_ROOT / "bib" / "learned.json", root / "bib" / "learned.json")  # the model the taxonomy names
    add_notebook(root, "03_data.ipynb", "# Data", (
        "import surveylib as sl\n"
        "from surveylib.build.snapshot import shared_frames\n"
        "from surveylib.taxonomy import corpus_taxonomy\n"
        "survey = sl.open_survey()\n"
        "fresh = corpus_taxonomy(survey.config, survey.corpus.reset_index(drop=True))\n"
        "survey.taxonomy['changed'] = 1  # a notebook changing its frame changes only its own\n"
        "again = sl.open_survey().taxonomy\n"
        "print('shared', shared_frames(survey.config) is not None, len(again),\n"
        "      again.equals(fresh), 'changed' in again)"))
    result = build_survey(load_config(root), formats=("html",), progress=None)
    assert "notebooks/03_data.ipynb" in result.executed
    assert len(list((root / "build" / ".cache").glob("survey-*.pkl"))) == 1
    text = (root / "build" / "survey.html").read_text(encoding="utf-8")
    printed = re.search(r"shared (\w+) (\d+) (\w+) (\w+)", text)
    assert printed and printed.group(1, 3, 4) == ("True", "True", "False") and int(printed.group(2)) > 10


def test_page_needs_nothing_from_nbconvert_soup_pass(built):
    """The exporter skips HTMLExporter's BeautifulSoup pass (alt text, focusable cells): the
    page already has what that pass would add, so the DOM is the one nbconvert would write."""
    from bs4 import BeautifulSoup

    root, _, _ = built
    page = (root / "build" / "survey.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(page, features="html.parser")
    before = str(soup)
    for elem in soup.select("img:not([alt])"):  # nbconvert.exporters.html.HTMLExporter.from_notebook_node
        elem.attrs["alt"] = "No description has been provided for this image"
    for elem in soup.select(".jp-Notebook div.jp-Cell-inputWrapper"):
        elem.attrs["tabindex"] = "0"
    for elem in soup.select(".jp-Notebook div.jp-OutputArea-output"):
        elem.attrs["tabindex"] = "0"
    assert str(soup) == before
    assert soup.select(".jp-Notebook div.jp-OutputArea-output")  # the check had something to check


def _probe_project(root: Path) -> Path:
    """Two notebooks that print what a kernel starts with: preloaded modules, working
    folder, importability of the project folder, and fresh random numbers."""
    shutil.copytree(FIXTURE / "bib", root / "bib")
    (root / "notebooks").mkdir()
    (root / "probe_module.py").write_text("WHERE = 'project root'\n", encoding="utf-8")
    for name in ("a", "b"):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"# Probe {name}"), nbformat.v4.new_code_cell(
            "import os, random, sys\n"
            "print('preloaded', 'pandas' in sys.modules)\n"
            "import numpy, probe_module\n"
            "print('cwd', os.getcwd() == os.path.dirname(os.path.abspath('survey.toml')), probe_module.WHERE)\n"
            "print('random', random.random(), numpy.random.rand())\n"
            "print('executable', sys.executable, 'argv0', sys.argv[0])\n"
            "import matplotlib.pyplot as plt\n"
            "print('backend', plt.get_backend())")]
        nbformat.write(nb, root / "notebooks" / f"{name}.ipynb")
    (root / "survey.toml").write_text('[survey]\ntitle = "Probe"\n[build]\nnotebooks = ["notebooks/a.ipynb", '
                                      '"notebooks/b.ipynb"]\n', encoding="utf-8")
    return root


def _printed(root: Path, name: str) -> str:
    (cached,) = (root / "build" / ".cache").glob(f"{name}-*.ipynb")
    nb = nbformat.read(cached, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.skipif(sys.platform != "linux", reason="kernels are forked from a zygote on Linux only")
def test_forked_kernels_start_like_fresh_ones(tmp_path, monkeypatch):
    """Kernels forked from the build's zygote (modules preloaded) see what a freshly started
    kernel sees: the project as working folder and on sys.path, the inline matplotlib backend,
    random generators seeded anew in each kernel."""
    forked = _probe_project(tmp_path / "forked")
    build_survey(load_config(forked), formats=("html",), progress=None)
    monkeypatch.setenv("SURVEYLIB_FORK_KERNELS", "0")
    plain = _probe_project(tmp_path / "plain")
    build_survey(load_config(plain), formats=("html",), progress=None)
    a, b = _printed(forked, "a"), _printed(forked, "b")
    assert "preloaded True" in a and "preloaded False" in _printed(plain, "a")
    for text in (a, b, _printed(plain, "a")):
        assert "cwd True project root" in text and "backend module://matplotlib_inline.backend_inline" in text
    assert a.split("random")[1] != b.split("random")[1]  # not the zygote's random state twice
    strip = lambda text: re.sub(r"preloaded \w+|random [^\n]*", "", text)  # noqa: E731
    assert strip(a) == strip(_printed(plain, "a"))


def test_bibliography_edits_show_through_the_export_cache(built, tmp_path):
    """The export reuses the last build's parsed .bib and formatted entries only while the
    .bib is the same: an edited title and abstract reach the page."""
    root = copy_project(built[0], tmp_path / "proj")
    assert (root / "build" / ".cache" / "export.json").is_file()
    bib = root / "bib" / "survey.bib"
    bib.write_text(bib.read_text(encoding="utf-8").replace("Token Pruning for Vision Transformers", "Pruning, Revised")
                   .replace("We prune visual tokens.", "We prune visual tokens, revised."), encoding="utf-8")
    result = build_survey(load_config(root), formats=("html",), progress=None)
    page = (root / "build" / "survey.html").read_text(encoding="utf-8")
    assert "Alpha: Pruning, Revised" in page and "We prune visual tokens, revised." in page
    assert "Token Pruning for Vision Transformers" not in page
    assert result.executed == ["notebooks/01_intro.ipynb", "notebooks/02_methods.ipynb"]  # the .bib is data


def test_zygote_serves_only_its_own_python(tmp_path):
    """A kernel command runs in the zygote only with the zygote's interpreter (python or
    python3 of the same environment), never another venv's python on the same base binary."""
    from surveylib.build.zygote import Zygote, same_python

    base = os.path.realpath(sys.executable)
    here = Path(sys.executable).parent
    other = tmp_path / "other-venv" / "bin"
    other.mkdir(parents=True)
    (other / "python").symlink_to(base)
    assert same_python(str(here / "python"), str(here / "python3"))
    assert not same_python(str(here / "python"), str(other / "python"))
    zygote = Zygote(str(here / "python3"), tmp_path, tmp_path)
    cmd = [str(here / "python"), "-m", "ipykernel_launcher", "-f", "k.json"]
    assert zygote.kernel_cmd(cmd) == cmd  # not started: plain kernels
    zygote.start()
    try:
        assert zygote.kernel_cmd(cmd)[1].endswith("_zygote_client.py") and zygote.kernel_cmd(cmd)[-2:] == ["-f", "k.json"]
        assert zygote.kernel_cmd([str(other / "python"), *cmd[1:]]) == [str(other / "python"), *cmd[1:]]
        assert zygote.kernel_cmd([str(here / "python"), "-m", "other_kernel"]) == [str(here / "python"), "-m", "other_kernel"]
    finally:
        zygote.stop()
    assert zygote.proc.poll() is not None
