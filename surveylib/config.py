"""The project file ``survey.toml``: what the author sets, with paths resolved against the project root."""
from __future__ import annotations

import glob
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import SurveyError

CONFIG_NAME = "survey.toml"


@dataclass(frozen=True)
class Config:
    """Settings of one survey project. All paths are absolute."""

    root: Path
    title: str = "Untitled survey"
    authors: tuple[str, ...] = ()
    date: str = ""
    sources: tuple[str, ...] = ("bib/sources/*.txt",)
    bib: Path = Path("bib/survey.bib")
    keys: Path = Path("bib/keys.csv")
    metadata: Path = Path("bib/metadata.json")
    taxonomy: Path = Path("bib/taxonomy.toml")
    overrides: Path = Path("bib/overrides.csv")
    notebooks: tuple[Path, ...] = ()
    formats: tuple[str, ...] = ("html",)
    output: Path = Path("build")
    extra: dict = field(default_factory=dict, compare=False)

    def source_files(self) -> list[Path]:
        """The source files the globs in ``[corpus] sources`` name, in order, each once."""
        files: list[Path] = []
        for pattern in self.sources:
            full = str(self.root / pattern)
            matches = sorted(glob.glob(full)) if glob.has_magic(pattern) else [full]
            if not matches:
                raise SurveyError(
                    f"source pattern {pattern!r} matches no file",
                    where=str(self.root / CONFIG_NAME),
                    hint="fix [corpus] sources, or add the files under bib/sources/",
                )
            for m in matches:
                p = Path(m)
                if p not in files:
                    files.append(p)
        return files

    def with_overrides(self, **changes) -> "Config":
        """A copy with some settings replaced; relative paths are resolved against the root."""
        resolved = {}
        for name, value in changes.items():
            if value is None:
                continue
            if name in _PATH_FIELDS:
                value = _resolve(self.root, value)
            elif name == "notebooks":
                value = tuple(_resolve(self.root, v) for v in value)
            elif name in ("sources", "formats", "authors"):
                value = tuple(value)
            resolved[name] = value
        return replace(self, **resolved)


_PATH_FIELDS = {"bib", "keys", "metadata", "taxonomy", "overrides", "output"}


def _resolve(root: Path, value) -> Path:
    p = Path(value)
    return p if p.is_absolute() else (root / p)


def find_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) holding survey.toml."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise SurveyError(
        f"no {CONFIG_NAME} found in {here} or any folder above it",
        hint="run the command inside a survey project, or pass --config PATH",
    )


def load_config(path: str | Path | None = None) -> Config:
    """Read ``survey.toml``.

    ``path`` may be the file, the project folder, or None to search upward from the
    working directory. Returns a :class:`Config` with absolute paths.
    """
    if path is None:
        file = find_root() / CONFIG_NAME
    else:
        p = Path(path).resolve()
        file = p / CONFIG_NAME if p.is_dir() else p
    if not file.is_file():
        raise SurveyError(f"{file} does not exist", hint="pass the path of your survey.toml")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SurveyError(f"not valid TOML: {exc}", where=str(file), hint="fix the syntax of survey.toml") from None
    root = file.parent
    survey = data.get("survey", {})
    corpus = data.get("corpus", {})
    bibl = data.get("bibliography", {})
    tax = data.get("taxonomy", {})
    build = data.get("build", {})
    authors = survey.get("authors", [])
    if isinstance(authors, str):
        authors = [authors]
    sources = corpus.get("sources", list(Config.sources))
    if isinstance(sources, str):
        sources = [sources]
    return Config(
        root=root,
        title=str(survey.get("title", Config.title)),
        authors=tuple(authors),
        date=str(survey.get("date", "")),
        sources=tuple(sources),
        bib=_resolve(root, bibl.get("bib", Config.bib)),
        keys=_resolve(root, bibl.get("keys", Config.keys)),
        metadata=_resolve(root, bibl.get("metadata", Config.metadata)),
        taxonomy=_resolve(root, tax.get("file", Config.taxonomy)),
        overrides=_resolve(root, tax.get("overrides", Config.overrides)),
        notebooks=tuple(_resolve(root, n) for n in build.get("notebooks", [])),
        formats=tuple(build.get("formats", ["html"])),
        output=_resolve(root, build.get("output", Config.output)),
        extra=data,
    )
