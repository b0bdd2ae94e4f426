"""`make bench`: pipeline scale (1k/10k/100k papers) and build speed against Jupyter Book 1.

    .venv/bin/python bench/run.py                      # everything; writes bench/results.md
    .venv/bin/python bench/run.py --only pipeline      # or: --only build
    .venv/bin/python bench/run.py --sizes 1000,10000   # fewer sizes

Pipeline scale: synthetic corpora (bench/synth.py, deterministic, distinct titles) written as
Daily Papers pages and as JSON Lines go through ingest (read + dedup + near-duplicates) ->
``survey bib`` (generate_bib into a fresh project) -> taxonomy (corpus_taxonomy: keys, classify,
overrides). Each size and format runs in its own subprocess, so its peak RSS
(``resource.getrusage``) is its own, plus that of the worker the taxonomy forks (an upper bound).

Build speed: the survey's notebooks built three ways (cold, nothing changed, one notebook
edited) by ``survey build``, by Jupyter Book 1 (bench/.venv-jb, executing notebooks with its
jupyter-cache, sphinxcontrib-bibtex citations) and by ``jupyter nbconvert --execute --to html``
per notebook. All three run the same kernel (this project's .venv), in separate copies of the
project under bench/work/.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work"
PY = REPO / ".venv" / "bin" / "python"
JB_VENV = BENCH / ".venv-jb"
SIZES = (1_000, 10_000, 100_000)
FORMATS = ("daily", "jsonl")
TARGET_SECONDS, TARGET_MB, TARGET_GROWTH = 10.0, 1536.0, 11.0

sys.path.insert(0, str(REPO))


# --- pipeline scale -----------------------------------------------------------------------

def corpus_files(size: int, fmt: str) -> list[Path]:
    """The synthetic corpus of ``size`` papers in ``fmt``, written once under bench/work/."""
    import synth

    folder = WORK / f"corpus_{size}_{fmt}"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        papers = synth.make_corpus(size)
        if fmt == "daily":
            synth.write_daily_papers(papers, folder)
        else:
            synth.write_jsonl(papers, folder / "corpus.jsonl")
        done.write_text("ok\n")
    return sorted(p for p in folder.iterdir() if p.suffix in (".txt", ".jsonl"))


def one_pipeline(size: int, fmt: str) -> dict:
    """Run ingest -> bib -> taxonomy once in this process; return timings and peak memory."""
    from surveylib.bibliography import generate_bib
    from surveylib.config import load_config
    from surveylib.sources import ingest
    from surveylib.taxonomy import corpus_taxonomy

    files = corpus_files(size, fmt)
    project = WORK / f"project_{size}_{fmt}"
    shutil.rmtree(project, ignore_errors=True)
    (project / "bib").mkdir(parents=True)
    shutil.copy(REPO / "bib" / "taxonomy.toml", project / "bib" / "taxonomy.toml")
    shutil.copy(REPO / "bib" / "learned.json", project / "bib" / "learned.json")  # the model the taxonomy names
    sources = [str(p) for p in files]
    (project / "survey.toml").write_text(
        '[survey]\ntitle = "bench"\n[corpus]\nsources = ' + json.dumps(sources) + "\n", encoding="utf-8")
    config = load_config(project / "survey.toml")

    times = {}
    start = time.perf_counter()
    corpus, report = ingest(files, root=project)
    times["ingest"] = time.perf_counter() - start
    t = time.perf_counter()
    generate_bib(config, corpus=corpus, keywords={}, metadata={})
    times["bib"] = time.perf_counter() - t
    t = time.perf_counter()
    frame = corpus_taxonomy(config, corpus)
    times["taxonomy"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - start
    assert len(corpus) == size == len(frame), (len(corpus), size, len(frame))
    return {
        "size": size, "format": fmt, "files": len(files), "listings": report.listings, "papers": len(corpus),
        "near_duplicates": len(report.near_duplicates), "skipped": len(report.skipped), **times,
        # The taxonomy forks a worker for half the papers: its peak counts too. The sum is an upper
        # bound, since pages the two processes share are counted twice.
        "peak_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                    + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024,
        "bib_bytes": Path(config.bib).stat().st_size,
    }


def run_pipeline(sizes) -> list[dict]:
    rows = []
    for size in sizes:
        for fmt in FORMATS:
            corpus_files(size, fmt)  # generate outside the measured process
            out = subprocess.run([str(PY), __file__, "--one", str(size), fmt], capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"pipeline {size} {fmt} failed:\n{out.stderr[-3000:]}")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"  {size:>7,} {fmt:<5}  {row['total']:6.2f} s  ingest {row['ingest']:.2f}  bib {row['bib']:.2f}  "
                  f"taxonomy {row['taxonomy']:.2f}  {row['papers'] / row['total']:8,.0f} papers/s  "
                  f"{row['peak_mb']:6.0f} MB", flush=True)
    return rows


# --- build speed --------------------------------------------------------------------------

def _kernel_dir() -> Path:
    """A Jupyter data dir whose python3 kernel is this project's .venv, so every tool runs the
    notebooks in the same environment."""
    data = WORK / "jupyter-data"
    spec = data / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(PY), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (surveylib .venv)", "language": "python"}), encoding="utf-8")
    return data


def _env() -> dict:
    env = dict(os.environ)
    env["JUPYTER_PATH"] = str(_kernel_dir())
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env.pop("CI", None)
    return env


def ensure_jb_venv() -> Path:
    """bench/.venv-jb with Jupyter Book 1 and sphinxcontrib-bibtex (installed once)."""
    jb = JB_VENV / "bin" / "jupyter-book"
    if not jb.exists():
        print("setting up bench/.venv-jb (Jupyter Book 1; once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(JB_VENV)], check=True)
        subprocess.run([str(JB_VENV / "bin" / "pip"), "install", "-q", "jupyter-book<2", "sphinxcontrib-bibtex",
                        "ipykernel"], check=True)
    return jb


def copy_project(dest: Path) -> Path:
    """A copy of the survey project (survey.toml, bib/, notebooks/) at ``dest``."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copy(REPO / "survey.toml", dest / "survey.toml")
    shutil.copytree(REPO / "bib", dest / "bib")
    shutil.copytree(REPO / "notebooks", dest / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dest


def notebooks() -> list[str]:
    from surveylib.config import load_config

    config = load_config(REPO / "survey.toml")
    return [str(p.relative_to(REPO)) for p in config.notebooks]


_CITE_GROUP = re.compile(r"\[(@[\w:.+-]*\w(?:\s*;\s*@[\w:.+-]*\w)*)\]")
_CITE_BARE = re.compile(r"(?<![\w@`])@([A-Za-z][\w:.+-]*\w)")


def to_myst_citations(text: str) -> str:
    """surveylib's ``[@a; @b]`` and ``@a`` citations as MyST roles for sphinxcontrib-bibtex."""
    text = _CITE_GROUP.sub(lambda m: "{cite:p}`" + ",".join(k.strip()[1:] for k in m.group(1).split(";")) + "`", text)
    return _CITE_BARE.sub(lambda m: "{cite:t}`" + m.group(1) + "`", text)


def make_jb_project(dest: Path) -> Path:
    """The same notebooks as a Jupyter Book 1 project: citations as MyST roles, a references
    page, execution through jupyter-cache, the project's bib/survey.bib."""
    import nbformat

    copy_project(dest)
    nbs = notebooks()
    for rel in nbs:
        nb = nbformat.read(dest / rel, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = to_myst_citations(cell.source)
        nbformat.write(nb, dest / rel)
    (dest / "references.md").write_text("# References\n\n```{bibliography}\n```\n", encoding="utf-8")
    toc = ["format: jb-book", f"root: {Path(nbs[0]).with_suffix('')}", "chapters:"]
    toc += [f"- file: {Path(n).with_suffix('')}" for n in nbs[1:]] + ["- file: references"]
    (dest / "_toc.yml").write_text("\n".join(toc) + "\n", encoding="utf-8")
    (dest / "_config.yml").write_text(
        "title: Survey (Jupyter Book 1 reference build)\n"
        "author: bench\n"
        "only_build_toc_files: true\n"
        "execute:\n  execute_notebooks: cache\n  timeout: 600\n"
        "bibtex_bibfiles:\n  - bib/survey.bib\n"
        "sphinx:\n  config:\n    bibtex_reference_style: author_year\n"
        "    html_show_copyright: false\n", encoding="utf-8")
    return dest


def _timed(cmd, cwd: Path) -> float:
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed in {cwd}:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return seconds


def edit_one_notebook(project: Path, rel: str) -> None:
    """The edit an author makes: one more sentence in the notebook's first markdown cell."""
    import nbformat

    nb = nbformat.read(project / rel, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown")
    cell.source += f"\n\nEdited for the benchmark at {time.time():.0f}."
    nbformat.write(nb, project / rel)


def run_build() -> dict:
    jb = ensure_jb_venv()
    nbs = notebooks()
    edited = nbs[-1]
    times: dict[str, dict[str, float]] = {"surveylib": {}, "jupyter-book 1": {}, "nbconvert": {}}

    sl = copy_project(WORK / "build_surveylib")
    survey = [str(REPO / ".venv" / "bin" / "survey"), "build", "--to", "html", "--quiet"]
    shutil.rmtree(sl / "build", ignore_errors=True)
    times["surveylib"]["cold"] = _timed(survey, sl)
    times["surveylib"]["nothing changed"] = _timed(survey, sl)
    edit_one_notebook(sl, edited)
    times["surveylib"]["one edited"] = _timed(survey, sl)
    if "Edited for the benchmark" not in (sl / "build" / "survey.html").read_text(encoding="utf-8"):
        raise SystemExit("survey build did not write the edited notebook into build/survey.html")
    print(f"  surveylib      {times['surveylib']}", flush=True)

    book = make_jb_project(WORK / "build_jupyterbook")
    jb_cmd = [str(jb), "build", ".", "--builder", "html"]
    shutil.rmtree(book / "_build", ignore_errors=True)
    times["jupyter-book 1"]["cold"] = _timed(jb_cmd, book)
    times["jupyter-book 1"]["nothing changed"] = _timed(jb_cmd, book)
    edit_one_notebook(book, edited)
    times["jupyter-book 1"]["one edited"] = _timed(jb_cmd, book)
    # Jupyter Book reports a notebook that failed to execute as a warning and builds anyway;
    # a reference that skipped the work would flatter us, so stop instead.
    reports = book / "_build" / "html" / "reports"
    if reports.exists() and any(reports.iterdir()):
        raise SystemExit(f"Jupyter Book could not execute a notebook: see {reports}")
    if not list((book / "_build" / "html" / "notebooks").glob("*.html")):
        raise SystemExit("Jupyter Book wrote no notebook pages")
    print(f"  jupyter-book 1 {times['jupyter-book 1']}", flush=True)

    # nbconvert has no cache: every scenario executes and converts every notebook again.
    nbc = copy_project(WORK / "build_nbconvert")
    cmd = [str(REPO / ".venv" / "bin" / "jupyter"), "nbconvert", "--execute", "--to", "html", "--log-level=ERROR"]
    for scenario in ("cold", "nothing changed", "one edited"):
        if scenario == "one edited":
            edit_one_notebook(nbc, edited)
        times["nbconvert"][scenario] = sum(_timed(cmd + [rel], nbc) for rel in nbs)
    print(f"  nbconvert      {times['nbconvert']}", flush=True)
    return {"notebooks": nbs, "edited": edited, "times": times, "jupyter_book": _jb_version()}


def _jb_version() -> str:
    out = subprocess.run([str(JB_VENV / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('jupyter-book'), m.version('sphinx'),"
                          " m.version('sphinxcontrib-bibtex'))"], capture_output=True, text=True)
    jb, sphinx, bibtex = (out.stdout.split() + ["?"] * 3)[:3]
    return f"jupyter-book {jb} (Sphinx {sphinx}, sphinxcontrib-bibtex {bibtex})"


# --- the report ---------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} CPU(s), {cpu}, {mem:.0f} GB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def pipeline_table(rows: list[dict]) -> list[str]:
    lines = ["| papers | format | files | total (s) | ingest (s) | bib (s) | taxonomy (s) | papers/s | peak RSS (MB) |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['size']:,} | {r['format']} | {r['files']:,} | {r['total']:.2f} | {r['ingest']:.2f} | "
                     f"{r['bib']:.2f} | {r['taxonomy']:.2f} | {r['papers'] / r['total']:,.0f} | {r['peak_mb']:.0f} |")
    lines.append("")
    by = {(r["size"], r["format"]): r for r in rows}
    for fmt in FORMATS:
        big, mid = by.get((100_000, fmt)), by.get((10_000, fmt))
        if big:
            ok_t = "met" if big["total"] <= TARGET_SECONDS else "MISSED"
            ok_m = "met" if big["peak_mb"] <= TARGET_MB else "MISSED"
            line = (f"- {fmt}: 100k papers in {big['total']:.1f} s (target <= {TARGET_SECONDS:.0f} s: {ok_t}), "
                    f"peak {big['peak_mb']:.0f} MB (target <= {TARGET_MB:.0f} MB: {ok_m})")
            if mid:
                growth = big["total"] / mid["total"]
                line += (f", 100k/10k time ratio {growth:.1f}x (target <= {TARGET_GROWTH:.0f}x: "
                         f"{'met' if growth <= TARGET_GROWTH else 'MISSED'})")
            lines.append(line)
    return lines


def build_table(build: dict) -> list[str]:
    t = build["times"]
    ref = t["jupyter-book 1"]
    lines = ["| tool | cold (s) | vs JB1 | nothing changed (s) | vs JB1 | one notebook edited (s) | vs JB1 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for tool, v in t.items():
        cells = []
        for scenario in ("cold", "nothing changed", "one edited"):
            cells += [f"{v[scenario]:.2f}", f"{v[scenario] / ref[scenario]:.2f}x"]
        lines.append(f"| {tool} | " + " | ".join(cells) + " |")
    sl = t["surveylib"]
    lines += ["",
              f"- cold: surveylib {sl['cold']:.1f} s = {sl['cold'] / ref['cold']:.2f}x Jupyter Book 1 "
              f"(target <= 0.5x: {'met' if sl['cold'] <= 0.5 * ref['cold'] else 'MISSED'})",
              f"- nothing changed: surveylib {sl['nothing changed']:.2f} s "
              f"(target <= 1 s: {'met' if sl['nothing changed'] <= 1.0 else 'MISSED'})",
              f"- notebooks: {', '.join(build['notebooks'])}; edited: {build['edited']} (one sentence of prose)",
              f"- reference: {build['jupyter_book']}, HTML builder, execute_notebooks: cache; "
              "nbconvert: `jupyter nbconvert --execute --to html` per notebook, one after another, no cache "
              "(every scenario re-executes everything)"]
    return lines


def write_results(pipeline: list[dict] | None, build: dict | None) -> str:
    old = (BENCH / "results.md").read_text(encoding="utf-8") if (BENCH / "results.md").exists() else ""
    parts = ["# surveylib benchmarks", "",
             f"Run {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {machine()}.",
             "Reproduce with `make bench` (see bench/run.py for what each figure measures).", ""]
    if pipeline:
        parts += ["## Pipeline scale: ingest -> dedup -> .bib -> taxonomy", "",
                  "Synthetic corpora built deterministically from the shipped corpus (bench/synth.py): distinct "
                  "titles recombined from the shipped titles, abstracts from their sentences, one listing in "
                  "seven repeated on a later page. Each row runs in a fresh subprocess; peak RSS from "
                  "`resource.getrusage`: that process's peak plus the peak of the worker process the taxonomy "
                  "forks for half the papers (an upper bound: pages they share count twice). *ingest* includes reading, dedup, near-duplicate search and the corpus "
                  "DataFrame; *bib* is `generate_bib` into an empty project (keys pinned, .bib and merge base "
                  "written); *taxonomy* is `corpus_taxonomy` (keys, classify on every core, overrides).", ""]
        parts += pipeline_table(pipeline) + [""]
    elif "## Pipeline scale" in old:
        parts += [old[old.index("## Pipeline scale"):old.index("## Build speed") if "## Build speed" in old else None].rstrip(), ""]
    if build:
        parts += ["## Build speed: the survey's notebooks", ""] + build_table(build) + [""]
    elif "## Build speed" in old:
        parts += [old[old.index("## Build speed"):].rstrip(), ""]
    text = "\n".join(parts)
    (BENCH / "results.md").write_text(text, encoding="utf-8")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["pipeline", "build"])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(BENCH))
    if args.one:
        print(json.dumps(one_pipeline(int(args.one[0]), args.one[1])))
        return 0
    WORK.mkdir(exist_ok=True)
    pipeline = build = None
    if args.only in (None, "pipeline"):
        print("pipeline scale", flush=True)
        pipeline = run_pipeline([int(s) for s in args.sizes.split(",")])
    if args.only in (None, "build"):
        print("build speed", flush=True)
        build = run_build()
    print()
    print(write_results(pipeline, build))
    return 0


if __name__ == "__main__":
    sys.exit(main())
