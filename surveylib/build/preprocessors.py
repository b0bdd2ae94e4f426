"""nbconvert preprocessors that turn the assembled notebook into a survey document.

Each takes the merged notebook (see :mod:`surveylib.build.assemble`; every cell carries
``metadata.surveylib_source = {"notebook", "cell"}``) and ``resources["survey"]`` (title,
authors, date, ``bib``: {key: fields}), and returns them changed:

- :class:`CleanupPreprocessor` drops stderr streams (warnings) and empty outputs.
- :class:`NumberingPreprocessor` numbers sections (``#``), subsections (``##``), figures and
  tables, and records the table of contents and the label map.
- :class:`CitationPreprocessor` resolves Pandoc citations in markdown cells, in text/markdown
  and text/html outputs, and in captions, to HTML links or LaTeX ``\\cite``; an unknown key
  raises SurveyError naming notebook, cell and key. For HTML it also formats the bibliography.
"""
from __future__ import annotations

import hashlib
import html
import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Unicode

from ..citations import Citation, find_citations, replace_citations
from ..errors import SurveyError
from .bibstyle import entry_digest, format_entries_html, safe_url, short_authors

FORMATS = ("html", "latex")
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_ID_RE = re.compile(r'\bid="([^"]*)"')


def where(cell) -> str:
    src = cell.get("metadata", {}).get("surveylib_source", {})
    return f"{src.get('notebook', '?')} cell {src.get('cell', '?')}"


def survey_outputs(cell):
    """The (index, output, meta) of a cell's numbered figure/table outputs."""
    for i, out in enumerate(cell.get("outputs", [])):
        meta = out.get("metadata", {}).get("surveylib") if out.get("output_type") in (
            "display_data", "execute_result") else None
        if isinstance(meta, dict) and meta.get("kind") in ("figure", "table"):
            yield i, out, meta


class CleanupPreprocessor(Preprocessor):
    """Drop what readers of a survey should not see: stderr (warnings), empty outputs."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.output_type == "stream" and o.name == "stderr")
                            and not (o.output_type == "stream" and not o.text.strip())]
        return cell, resources


class NumberingPreprocessor(Preprocessor):
    """Number sections, subsections, figures and tables in document order."""

    to = Unicode("html", help="output format: html or latex").tag(config=True)

    def preprocess(self, nb, resources):
        survey = resources.setdefault("survey", {})
        toc, labels = [], {}
        sec = sub = fig = tab = 0
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                lines, fence = cell.source.split("\n"), None
                for j, line in enumerate(lines):
                    f = _FENCE_RE.match(line)
                    if f:
                        fence = None if fence and f.group(1).startswith(fence) else (fence or f.group(1)[:3])
                        continue
                    m = None if fence else _HEADING_RE.match(line)
                    if not m or len(m.group(1)) > 2:
                        continue
                    if len(m.group(1)) == 1:
                        sec, sub = sec + 1, 0
                        number = f"{sec}"
                    else:
                        sub += 1
                        number = f"{sec}.{sub}"
                    if self.to == "html":
                        lines[j] = f'{m.group(1)} <span class="secno">{number}</span> {m.group(2)}'
                        toc.append({"level": len(m.group(1)), "number": number,
                                    "title": m.group(2), "id": _heading_id(lines[j])})
                    else:
                        toc.append({"level": len(m.group(1)), "number": number, "title": m.group(2)})
                cell.source = "\n".join(lines)
            for _, out, meta in survey_outputs(cell):
                if meta["kind"] == "figure":
                    fig += 1
                    number, name = fig, "Figure"
                else:
                    tab += 1
                    number, name = tab, "Table"
                label = meta.get("label") or f"{'fig' if name == 'Figure' else 'tab'}-{number}"
                if label in labels:
                    raise SurveyError(f"label {label!r} is used twice", where=where(cell),
                                      hint="give each figure and table its own label")
                meta.update(number=number, name=name, label=label)
                labels[label] = {"name": name, "number": number}
        survey.update(toc=toc, labels=labels)
        return nb, resources


def _heading_id(line: str) -> str:
    """The id nbconvert's markdown renderer gives this heading (so the TOC links match)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    m = _ID_RE.search(markdown2html_mistune(line))
    return html.unescape(m.group(1)) if m else ""


class CitationPreprocessor(Preprocessor):
    """Resolve ``[@key]``, ``[@a; @b]`` and ``@key`` against ``resources["survey"]["bib"]``.

    HTML: ``[n]`` links to ``#ref-key``, each with an id the bibliography links back to;
    numbers follow the order of first citation. LaTeX: ``\\cite{a,b}`` / ``\\citet{key}``.
    A key naming a figure or table label becomes a cross-reference ("Figure 2").
    Leaves ``resources["survey"]["cited"]`` = {key: [anchor ids]} in citation order, and for
    HTML ``resources["survey"]["bibliography"]`` = [{number, key, html, url, abstract, backrefs}].
    """

    to = Unicode("html", help="output format: html or latex").tag(config=True)

    def preprocess(self, nb, resources):
        survey = resources.setdefault("survey", {})
        self._bib = survey.get("bib", {})
        self._labels = survey.get("labels", {})
        self._memo = survey.get("formatted")  # formatted entries from earlier builds, if any
        self._cited: dict[str, list[str]] = {}
        self._count = 0
        for cell in nb.cells:
            self._where = where(cell)
            if cell.cell_type == "markdown":
                cell.source = self._resolve(cell.source, markup="markdown")
            elif cell.cell_type == "code":
                for out in cell.outputs:
                    meta = out.get("metadata", {}).get("surveylib")
                    meta = meta if isinstance(meta, dict) and meta.get("caption") else None
                    # Numbers follow reading order: a table's caption is above it, a figure's below.
                    if meta and meta.get("kind") == "table":
                        meta["caption"] = self._resolve(meta["caption"], markup="markdown")
                    self._resolve_output(out.get("data", {}))
                    if meta and meta.get("kind") != "table":
                        meta["caption"] = self._resolve(meta["caption"], markup="markdown")
        survey["cited"] = self._cited
        if self.to == "html":
            survey["bibliography"] = self._bibliography()
            survey["formatted"] = self._memo_out
        return nb, resources

    _MARKUP = {"text/markdown": "markdown", "text/html": "html", "text/latex": "latex"}

    def _resolve_output(self, data: dict) -> None:
        """Resolve citations in the representation this format shows (the first text type in
        nbconvert's display priority); only check the keys in the others, so every anchor
        written is one a reader can reach."""
        shown = next((m for m in self.display_data_priority if m in data), None)
        for mime, markup in self._MARKUP.items():
            if mime not in data:
                continue
            if mime == shown and mime == "text/html" and self.to == "latex":
                data["text/latex"] = self._html_to_latex(data.pop(mime))
            elif mime == shown:
                data[mime] = self._resolve(data[mime], markup=markup)
            else:
                for cite in find_citations(data[mime]):
                    self._check(cite)

    def _html_to_latex(self, text: str) -> str:
        """HTML output as LaTeX through pandoc; citations pass through as placeholders
        (pandoc's HTML reader would escape a raw \\cite)."""
        from nbconvert.utils.pandoc import pandoc

        held: list[str] = []

        def hold(cite: Citation) -> str:
            held.append(self._render_latex(cite))
            return f"SURVEYCITE{len(held) - 1:05d}Z"

        text = replace_citations(text, lambda c: (self._check(c), hold(c))[1])
        latex = pandoc(text, "html", "latex")
        return re.sub(r"SURVEYCITE(\d{5})Z", lambda m: held[int(m.group(1))], latex)

    # -- one citation --------------------------------------------------------------------
    def _resolve(self, text: str, markup: str) -> str:
        return replace_citations(text, lambda c: self._render(c, markup))

    def _check(self, cite: Citation) -> None:
        for key in cite.keys:
            if key not in self._bib and key not in self._labels:
                raise SurveyError(f"unknown citation key {key!r} in {cite.text!r}",
                                  where=f"{self._where} | {key}",
                                  hint="use a key from the .bib file (see bib/keys.csv), "
                                       "or write \\@ for a literal @")

    def _anchor(self, key: str) -> str:
        self._count += 1
        anchor = f"cite-{self._count}"
        self._cited.setdefault(key, []).append(anchor)
        return anchor

    def _number(self, key: str) -> int:
        return list(self._cited).index(key) + 1

    def _render(self, cite: Citation, markup: str) -> str:
        self._check(cite)
        if self.to == "latex":
            return self._render_latex(cite)
        parts = []
        for item in cite.items:
            if item.key in self._labels:
                lab = self._labels[item.key]
                parts.append(f'<a class="xref" href="#{html.escape(item.key)}">{lab["name"]}&nbsp;{lab["number"]}</a>')
                continue
            anchor = self._anchor(item.key)
            n = self._number(item.key)
            link = (f'<a class="cite" id="{anchor}" href="#ref-{html.escape(item.key)}" '
                    f'title="{html.escape(item.key)}">{n}</a>')
            if cite.narrative:
                who = short_authors(self._bib[item.key])
                parts.append(f"{html.escape(who)} [{link}]" if who else f"[{link}]")
            else:
                pre = html.escape(item.prefix) + " " if item.prefix else ""
                post = ", " + html.escape(item.suffix) if item.suffix else ""
                parts.append(f"{pre}{link}{post}")
        if cite.narrative:
            return parts[0]
        if all(item.key in self._labels for item in cite.items):
            return ", ".join(parts)
        return '<span class="citation">[' + ", ".join(parts) + "]</span>"

    def _render_latex(self, cite: Citation) -> str:
        if len(cite.items) == 1 and cite.items[0].key in self._labels:
            key = cite.items[0].key
            return f"\\surveyref{{{self._labels[key]['name']}}}{{{key}}}"
        for item in cite.items:
            self._anchor(item.key)
        keys = ",".join(i.key for i in cite.items if i.key not in self._labels)
        if cite.narrative and self._bib[cite.items[0].key].get("author"):
            return f"\\citet{{{keys}}}"
        if len(cite.items) == 1 and (cite.items[0].prefix or cite.items[0].suffix):
            item = cite.items[0]
            return f"\\citep[{_tex(item.prefix)}][{_tex(item.suffix)}]{{{keys}}}"
        return f"\\citep{{{keys}}}"

    # -- the bibliography ----------------------------------------------------------------
    def _bibliography(self) -> list[dict]:
        """The entries of the cited keys. Formatted HTML and plain-text abstracts come from
        ``resources["survey"]["formatted"]`` (the last build's) when there, and what this
        bibliography used is left there for the next build."""
        keys = list(self._cited)
        pairs = [(k, self._bib[k]) for k in keys]
        memo = dict(self._memo or {})
        formatted = dict(format_entries_html(pairs, memo=memo))
        used = {entry_digest(k, f) for k, f in pairs}
        entries = []
        for n, key in enumerate(keys, 1):
            fields = self._bib[key]
            url = (safe_url(fields.get("url"))
                   or (f"https://arxiv.org/abs/{fields['eprint']}" if fields.get("eprint") else None)
                   or (f"https://doi.org/{fields['doi']}" if fields.get("doi") else None))
            abstract = fields.get("abstract", "")
            plain_key = "plain:" + hashlib.sha1(abstract.encode()).hexdigest()
            if not isinstance(memo.get(plain_key), str):
                memo[plain_key] = _plain(abstract)
            used.add(plain_key)
            entries.append({"number": n, "key": key, "html": formatted.get(key, html.escape(key)),
                            "url": url, "abstract": memo[plain_key], "backrefs": self._cited[key]})
        self._memo_out = {k: memo[k] for k in used if k in memo}
        return entries


def _plain(text: str) -> str:
    """BibTeX field text as plain text (the template escapes it for HTML)."""
    if not text:
        return ""
    try:
        from ..bibliography.latex import decode_latex
    except ImportError:  # pragma: no cover - the bibliography package always ships it
        return text
    return decode_latex(text)


def _tex(text: str) -> str:
    from nbconvert.filters.latex import escape_latex

    return escape_latex(text)
