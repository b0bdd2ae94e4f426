"""Taxonomy: the file, the classifier and its evidence, facts, overrides, evaluation, the commands."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from surveylib.cli import main
from surveylib.config import load_config
from surveylib.errors import SurveyError
from surveylib.taxonomy import (apply_overrides, classify, corpus_keywords, corpus_taxonomy, evaluate,
                                extract_claims, load_taxonomy, read_labels, read_overrides, review_queue)
from surveylib.taxonomy import scan
from surveylib.taxonomy.classify import _compiled, _match, _match_batch, _match_reference, _Text

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).parent / "fixtures"
TAXONOMY = ROOT / "bib" / "taxonomy.toml"
THEMES = ["token_compression", "modality_bias", "unified_generation"]


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy(TAXONOMY)


@pytest.fixture(scope="module")
def papers():
    return pd.read_json(FIX / "tax_papers.jsonl", lines=True).set_index("id")


@pytest.fixture(scope="module")
def result(papers, taxonomy):
    return classify(papers, taxonomy)


# --- the file ------------------------------------------------------------------------------

def test_shipped_file_has_the_three_themes_with_subthemes(taxonomy):
    assert taxonomy.names == THEMES
    for theme in taxonomy.themes:
        assert theme.description and len(theme.subthemes) >= 5


def test_a_theme_added_to_the_file_works_without_code(tmp_path, papers):
    extra = """
[themes.efficiency_claims]
label = "Efficiency claims"
threshold = 2
fallback_subtheme = "general"
signals = [{ pattern = '\\bspeed-?up', weight = 2 }, 'flops']
[[themes.efficiency_claims.subthemes]]
name = "compute"
signals = ['flops']
"""
    path = tmp_path / "taxonomy.toml"
    path.write_text(TAXONOMY.read_text(encoding="utf-8") + extra, encoding="utf-8")
    shutil.copy(TAXONOMY.with_name("learned.json"), tmp_path / "learned.json")  # the model it names
    tax = load_taxonomy(path)
    assert "efficiency_claims" not in tax.learned.themes  # a new theme: its rules decide it
    assert tax.names == THEMES + ["efficiency_claims"]
    out = classify(papers, tax)
    assert bool(out.loc["p1", "efficiency_claims"]) is True
    assert out.loc["p1", "efficiency_claims_subtheme"] == "compute"
    assert '"speedup"' in out.loc["p1", "efficiency_claims_evidence"]
    assert not out.loc[["p2", "p3", "p4", "p5"], "efficiency_claims"].any()


_MINI = """
[settings]
background_weight = 0.5
background = ['^(?:recent|existing) ']
foreground = ['\\bwe\\b']
[themes.pruning]
threshold = 3
requires = ['\\b(?:visual|image|video)\\b']
signals = [{ pattern = 'token pruning', weight = 3 }]
"""


def _mini(tmp_path, text=_MINI):
    path = tmp_path / "taxonomy.toml"
    path.write_text(text, encoding="utf-8")
    return load_taxonomy(path)


def test_a_signal_only_in_a_scene_setting_sentence_counts_less(tmp_path):
    tax = _mini(tmp_path)
    frame = classify(pd.DataFrame({"title": ["a", "b", "c"], "abstract": [
        "Recent visual models use token pruning. They are good.",                     # background only
        "Recent visual models are large. Our image method uses token pruning.",       # about the paper
        "Recent work shows we can apply token pruning to video.",                     # 'we': not background
    ]}), tax)
    assert frame["pruning_score"].tolist() == [1.5, 3.0, 3.0]
    assert frame["pruning"].tolist() == [False, True, True]
    # The later mention in a sentence about the paper is the one kept as evidence.
    assert "Our image method uses token pruning" in frame.loc[1, "pruning_evidence"]
    assert "+1.5" in frame.loc[0, "pruning_evidence"]


def test_a_theme_needs_one_of_its_required_patterns(tmp_path):
    tax = _mini(tmp_path)
    frame = classify(pd.DataFrame({"title": ["Token pruning", "Token pruning"],
                                   "abstract": ["We apply token pruning to text LLMs.",
                                                "We apply token pruning to image LLMs."]}), tax)
    assert frame["pruning_score"].tolist() == [9.0, 9.0]
    assert frame["pruning"].tolist() == [False, True]
    assert frame.loc[0, "pruning_subtheme"] == "" and frame.loc[1, "pruning_evidence"]


@pytest.mark.parametrize("text, problem", [
    ("", "no themes"),
    ("[themes.x]\nsignals = ['(unclosed']\n", "not a valid regular expression"),
    ("[themes.x]\nsignals = ['Token']\n", "upper-case"),
    ("[themes.x]\nsignals = [{ pattern = 'a', weight = -1 }]\n", "no signal with a positive weight"),
    ("[themes.x]\nsignals = ['abc']\nthreshhold = 2\n", "unknown field"),
    ("[themes.x\n", "not valid TOML"),
])
def test_a_bad_file_names_the_file_and_the_problem(tmp_path, text, problem):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SurveyError) as err:
        load_taxonomy(path)
    assert problem in str(err.value) and str(path) in str(err.value)


# --- the classifier --------------------------------------------------------------------------

def test_each_paper_lands_in_its_theme(result):
    assert result["token_compression"].tolist() == [True, False, False, False, False]
    assert result["modality_bias"].tolist() == [False, True, False, False, False]
    assert result["unified_generation"].tolist() == [False, False, True, False, False]


def test_positives_have_subtheme_evidence_and_facets(result):
    assert result.loc["p1", "token_compression_subtheme"] == "attention-based pruning"
    assert result.loc["p2", "modality_bias_subtheme"] == "language priors / text dominance"
    assert result.loc["p3", "unified_generation_subtheme"] == "autoregressive over discrete tokens"
    for theme in THEMES:
        for _, row in result[result[theme]].iterrows():
            assert row[f"{theme}_subtheme"] and row[f"{theme}_evidence"]
            assert row["modalities"] and row["contribution"]
    assert "token pruning" in result.loc["p1", "token_compression_evidence"]
    assert result.loc["p2", "contribution"] == "benchmark"
    assert result.loc["p1", "modalities"] == ["image"]


def test_input_columns_and_index_are_kept(papers, result):
    assert list(result.index) == list(papers.index)
    assert result.loc["p2", "title"] == papers.loc["p2", "title"]


def test_facts_carry_their_spans(result, papers):
    row = result.loc["p1"]
    assert row["method"] == "SqueezeVis"
    assert row["code_url"] == "https://github.com/example/squeezevis"
    kinds = {c["kind"]: c["text"] for c in row["claims"]}
    assert kinds["tokens"] == "visual tokens from 576 to 64" or "576 to 64" in kinds["tokens"]
    assert "3.1x speedup" in kinds["speedup"]
    assert "70%" in kinds["flops"]
    assert "95% of the original performance" in kinds["retention"]
    for claim in row["claims"]:
        assert papers.loc["p1", "abstract"][claim["start"]:claim["end"]].strip() == claim["text"]
    assert "576 to 64" in row["claimed_reduction"] and "3.1x" in row["claimed_speedup"]


def test_claims_need_numbers():
    assert extract_claims("We prune many visual tokens and are much faster.") == []


def test_prefilter_finds_exactly_what_plain_regex_search_finds(taxonomy, papers):
    compiled = _compiled(taxonomy)
    texts = [_Text(t, a) for t, a in zip(papers["title"], papers["abstract"])]
    fast = _match_batch(compiled, texts)
    for text, hits in zip(texts, fast):
        for sid, sig in enumerate(compiled.signals):
            expect = [bool(sig.regex.search(text.ltitle)), bool(sig.regex.search(text.labstract))]
            got = [any(t for _, t in hits.get(sid, [])), any(not t for _, t in hits.get(sid, []))]
            assert got == expect, sig.pattern


def test_fast_matching_equals_the_plain_reference_on_the_shipped_corpus(taxonomy):
    from surveylib.sources import ingest

    corpus, _ = ingest(sorted((ROOT / "bib" / "sources").glob("*.txt")), root=ROOT)
    compiled = _compiled(taxonomy)
    texts = [_Text(t, a) for t, a in zip(corpus["title"].fillna(""), corpus["abstract"].fillna(""))]
    assert len(texts) > 200
    fast, slow = _match_batch(compiled, texts), _match_reference(compiled, texts)
    for text, f, s in zip(texts, fast, slow):
        assert {k: [t for _, t in v] for k, v in f.items()} == {k: [t for _, t in v] for k, v in s.items()}, text.title
        assert f == s, text.title  # same spans too, so the evidence is the same


def test_hyperscan_matching_equals_the_plain_reference_on_the_shipped_corpus(taxonomy):
    """The Hyperscan path (large batches) gives the same signals and spans as ``re.search``, also on
    non-ASCII texts (which it hands to the plain path) and on text edges."""
    from surveylib.sources import ingest

    assert scan.AVAILABLE, "hyperscan is a dependency (pyproject.toml)"
    corpus, _ = ingest(sorted((ROOT / "bib" / "sources").glob("*.txt")), root=ROOT)
    compiled = _compiled(taxonomy)
    texts = [_Text(t, a) for t, a in zip(corpus["title"].fillna(""), corpus["abstract"].fillna(""))]
    texts += [_Text("Visual token pruning für MLLMs", "Wir prunen visual tokens: 90% fewer tokens. Ünïcode."),
              _Text("", "token pruning"), _Text("Token merging", "")]
    fast, slow = _match(compiled, texts, fast=True), _match_reference(compiled, texts)
    for text, f, s in zip(texts, fast, slow):
        assert f.keys() == s.keys(), text.title
        # A theme's `requires` patterns only need to be present; their spans are not always located.
        assert {k: v for k, v in f.items() if k not in compiled.presence_only} == \
            {k: v for k, v in s.items() if k not in compiled.presence_only}, text.title
        assert all([t for _, t in f[k]] == [t for _, t in s[k]] for k in compiled.presence_only if k in f)


def test_every_shipped_signal_and_cue_compiles_in_hyperscan(taxonomy):
    """A pattern Hyperscan rejects (a lookahead, say) still works, searched with ``re`` in every
    paper: correct, but it undoes the one-pass scan that the 100k benchmark relies on. So the
    shipped file uses none; the tests above check the fallback itself."""
    compiled = _compiled(taxonomy)
    rejected = [compiled.signals[i].pattern for i in compiled.scanner().unsupported if i < len(compiled.signals)]
    assert rejected == []
    assert compiled.cue_scanner().unsupported == []


def test_hyperscan_claim_candidates_include_every_claim_pattern_that_matches():
    from surveylib.sources import ingest
    from surveylib.taxonomy.facts import _CLAIMS, _claim_candidates

    corpus, _ = ingest(sorted((ROOT / "bib" / "sources").glob("*.txt")), root=ROOT)
    texts = corpus["abstract"].fillna("").tolist()
    texts = (texts * (2000 // len(texts) + 1))[:2000]  # a batch large enough for the Hyperscan path
    for text, cand in zip(texts, _claim_candidates(texts)):
        matching = [k for k, (_, regex) in enumerate(_CLAIMS) if regex.search(text)]
        assert set(matching) <= set(cand)


def test_claim_candidates_from_the_signal_scan_are_the_claim_patterns_that_match(taxonomy):
    """The signal scan also finds each abstract's claim patterns (one Hyperscan pass for both):
    exactly those that match, as the stand-alone claim scan finds them."""
    from surveylib.sources import ingest
    from surveylib.taxonomy.facts import _CLAIMS, _claim_candidates

    corpus, _ = ingest(sorted((ROOT / "bib" / "sources").glob("*.txt")), root=ROOT)
    texts = [_Text(t, a) for t, a in zip(corpus["title"].fillna(""), corpus["abstract"].fillna(""))]
    texts.append(_Text("Ünïcode title", "Wir reduzieren 576 visual tokens to 64 tokens."))
    claims: list = [None] * len(texts)
    _match(_compiled(taxonomy), texts, fast=True, claims=claims)
    assert claims[-1] is None  # not ASCII: not scanned, left to the plain path
    abstracts = [t.abstract for t in texts[:-1]]
    alone = _claim_candidates(abstracts * (2000 // len(abstracts) + 1))  # large enough for its own scan
    for text, found, other in zip(abstracts, claims, alone):
        matching = [k for k, (_, regex) in enumerate(_CLAIMS) if regex.search(text)]
        assert found == matching == other, text[:80]
    assert sum(map(len, claims[:-1])) > 30
    # All texts ASCII (one scan, no plain path): the same candidates, set in place text by text.
    only_ascii: list = [None] * (len(texts) - 1)
    _match(_compiled(taxonomy), texts[:-1], fast=True, claims=only_ascii)
    assert only_ascii == claims[:-1]


def test_claims_read_near_numbers_equal_claims_read_from_the_whole_text():
    from surveylib.sources import ingest
    from surveylib.taxonomy.facts import _CLAIMS

    corpus, _ = ingest(sorted((ROOT / "bib" / "sources").glob("*.txt")), root=ROOT)
    total = 0
    for text in corpus["abstract"].fillna(""):
        taken, plain = [], []
        for kind, regex in _CLAIMS:
            for m in regex.finditer(text):
                if not any(m.start() < e and s < m.end() for s, e in taken):
                    taken.append(m.span())
                    plain.append((kind, m.start(), m.end()))
        got = [(c["kind"], c["start"], c["end"]) for c in extract_claims(text)]
        assert got == sorted(plain, key=lambda c: c[1]), text[:80]
        total += len(got)
    assert total > 50


# --- the classify command: unicode, empty and very long abstracts -----------------------------

def test_classify_command_handles_unicode_empty_and_long_abstracts(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    lines = (FIX / "tax_papers.jsonl").read_text(encoding="utf-8").splitlines()
    long_abstract = ("Multimodal models process many visual tokens. " * 5000) + "We prune redundant visual tokens."
    lines.append(json.dumps({"id": "p6", "title": "Long", "abstract": long_abstract}, ensure_ascii=False))
    lines.append(json.dumps({"id": "p7", "title": "Missing abstract field"}))
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["classify", str(src), "-o", str(out), "--taxonomy", str(TAXONOMY)]) == 0
    csv.field_size_limit(1 << 26)  # the long abstract is one field, past csv's default limit
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["p1", "p2", "p3", "p4", "p5", "p6", "p7"]
    assert rows[3]["title"] == "Ünïcödé Title with No Abstract — ✓"
    for r in (rows[3], rows[6]):
        assert all(r[t] == "False" and r[f"{t}_evidence"] == "" for t in THEMES)
    assert rows[5]["token_compression"] == "True"
    assert len(rows[5]["token_compression_evidence"]) < 2000  # evidence is shortened, never the whole text
    assert "日本語" in rows[1]["abstract"]
    assert {"modalities", "contribution", "method", "code_url", "claims", "claimed_reduction",
            "claimed_speedup"} <= set(rows[0])
    assert json.loads(rows[0]["claims"])[0]["kind"]


def test_classify_command_names_a_bad_line(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"title": "ok", "abstract": ""}\n{not json\n', encoding="utf-8")
    assert main(["classify", str(src), "-o", str(tmp_path / "o.csv"), "--taxonomy", str(TAXONOMY)]) == 1
    assert f"{src}:2" in capsys.readouterr().err


# --- overrides ------------------------------------------------------------------------------

@pytest.fixture()
def project(tmp_path):
    shutil.copy(FIX / "tax_papers.jsonl", tmp_path / "papers.jsonl")
    (tmp_path / "bib").mkdir()
    shutil.copy(TAXONOMY, tmp_path / "bib" / "taxonomy.toml")
    shutil.copy(TAXONOMY.with_name("learned.json"), tmp_path / "bib" / "learned.json")  # the model the taxonomy names
    (tmp_path / "survey.toml").write_text('[corpus]\nsources = ["papers.jsonl"]\n', encoding="utf-8")
    return tmp_path


def test_an_override_wins_in_the_corpus_taxonomy(project):
    config = load_config(project)
    before = corpus_taxonomy(config)
    key = before.index[before["token_compression"]][0]
    other = before.index[~before["modality_bias"] & ~before["token_compression"]][0]
    (project / "bib" / "overrides.csv").write_text(
        "key,theme,value,note\n"
        f"{key},token_compression,false,pruning is only an ablation here\n"
        f"{other},modality_bias,true,studies text dominance in section 4\n", encoding="utf-8")
    after = corpus_taxonomy(config)
    assert bool(after.loc[key, "token_compression"]) is False
    assert after.loc[key, "token_compression_evidence"] == "override: pruning is only an ablation here"
    assert after.loc[key, "token_compression_subtheme"] == ""
    assert bool(after.loc[other, "modality_bias"]) is True
    assert after.loc[other, "modality_bias_subtheme"]  # a forced positive still gets a sub-theme
    assert "modality_bias" in corpus_keywords(config)[other]
    assert "token_compression" not in corpus_keywords(config)[key]


def test_the_review_queue_lists_decisions_near_the_threshold_closest_first(tmp_path):
    tax = _mini(tmp_path)
    frame = classify(pd.DataFrame({"title": ["Narrow", "Token pruning", "Near", "None"], "abstract": [
        "We apply token pruning to image models.",                 # 3: a narrow pass
        "We apply token pruning to image models.",                 # 9 (title and abstract): clear
        "Recent visual models use token pruning. They are good.",  # 1.5: a near miss
        "We study image captions.",                                # 0: nothing to review
    ]}, index=["n", "c", "m", "z"]), tax)
    assert frame["pruning_score"].tolist() == [3.0, 9.0, 1.5, 0.0]
    queue = review_queue(frame, tax, margin=1.0)
    assert queue.index.tolist() == ["n", "m"]  # distance 0, then 1.5
    assert queue["reason"].tolist() == ["narrow pass", "near miss"]
    assert queue.loc["m", "decision"] == False and queue.loc["m", "evidence"].startswith("+1.5")  # noqa: E712
    assert review_queue(frame, tax, margin=0.0).index.tolist() == ["m"]  # a pass at the threshold is not narrow then
    # Once the author has decided, the decision leaves the queue.
    decided = apply_overrides(frame, pd.DataFrame([{"key": "m", "theme": "pruning", "value": "true", "note": "ok"}]), tax)
    assert review_queue(decided, tax).index.tolist() == ["n"]


def test_taxonomy_command_writes_the_review_queue(project):
    # The fixture's papers are clear cases: a wide margin makes every pass narrow.
    assert main(["taxonomy", "--no-bib", "--margin", "50", "--config", str(project / "survey.toml")]) == 0
    queue = review_queue(corpus_taxonomy(load_config(project)), load_taxonomy(project / "bib" / "taxonomy.toml"), 50)
    with open(project / "build" / "review.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and [(r["key"], r["theme"], r["reason"]) for r in rows] == list(zip(queue.index, queue["theme"], queue["reason"]))


@pytest.mark.parametrize("row, problem", [
    ("nosuchkey,token_compression,true,x", "unknown citation key"),
    ("{key},no_theme,true,x", "unknown theme"),
    ("{key},token_compression,maybe,x", "neither true/false nor a sub-theme"),
])
def test_a_bad_override_names_its_csv_line(project, row, problem):
    config = load_config(project)
    frame = corpus_taxonomy(config)
    path = project / "bib" / "overrides.csv"
    path.write_text("key,theme,value,note\n\n" + row.format(key=frame.index[0]) + "\n", encoding="utf-8")
    with pytest.raises(SurveyError) as err:
        apply_overrides(frame, read_overrides(path), load_taxonomy(config.taxonomy))
    assert problem in str(err.value) and f"{path}:3" in str(err.value)


def test_an_override_can_name_a_subtheme(result, taxonomy, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("key,theme,value,note\np5,token_compression,KV-cache compression,checked the paper\n",
                    encoding="utf-8")
    out = apply_overrides(result, read_overrides(path), taxonomy)
    assert bool(out.loc["p5", "token_compression"]) is True
    assert out.loc["p5", "token_compression_subtheme"] == "KV-cache compression"
    assert bool(result.loc["p5", "token_compression"]) is False  # the input is not changed


# --- evaluation -----------------------------------------------------------------------------

def test_eval_figures_on_a_hand_made_label_file():
    # By construction (tax_mini.toml matches the bare words): alpha TP 2, FP 1, FN 1 -> P = R = F1 = 2/3;
    # beta TP 1, FP 1, FN 1 -> P = R = F1 = 1/2; macro-F1 = (2/3 + 1/2) / 2 = 0.5833.
    labels = read_labels(FIX / "tax_labels.jsonl")
    report = evaluate(classify(labels, FIX / "tax_mini.toml"), labels)
    scores = {t.theme: t for t in report.themes}
    assert (scores["alpha"].tp, scores["alpha"].fp, scores["alpha"].fn, scores["alpha"].tn) == (2, 1, 1, 2)
    assert scores["alpha"].precision == pytest.approx(2 / 3) and scores["alpha"].f1 == pytest.approx(2 / 3)
    assert (scores["beta"].tp, scores["beta"].fp, scores["beta"].fn) == (1, 1, 1)
    assert scores["beta"].recall == pytest.approx(0.5)
    assert report.macro_f1 == pytest.approx(7 / 12)
    wrong = {(e["theme"], e["kind"], e["title"]) for e in report.errors}
    assert wrong == {("alpha", "false negative", "Paper three"), ("alpha", "false positive", "Paper five"),
                     ("beta", "false positive", "Paper two"), ("beta", "false negative", "Paper four")}
    fp = next(e for e in report.errors if e["title"] == "Paper five")
    assert '"Alpha"' in fp["evidence"]


def test_eval_command_text_and_json(capsys):
    assert main(["eval", str(FIX / "tax_labels.jsonl"), "--taxonomy", str(FIX / "tax_mini.toml")]) == 0
    text = capsys.readouterr().out
    assert "macro-F1 0.583" in text and "Paper five" in text
    assert main(["eval", str(FIX / "tax_labels.jsonl"), "--taxonomy", str(FIX / "tax_mini.toml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["macro_f1"] == pytest.approx(7 / 12) and len(data["errors"]) == 4


def test_f1_when_a_theme_has_no_positives_and_none_predicted():
    labels = pd.DataFrame({"title": ["a", "b"], "abstract": ["", ""], "alpha": [False, False]})
    report = evaluate(classify(labels, FIX / "tax_mini.toml"), labels)
    assert report.themes[0].f1 == 1.0 and report.themes[0].tp == 0


def test_classify_in_several_processes_equals_one(taxonomy, monkeypatch):
    """Forked workers (large batches) give the very same frame as one process, index included."""
    from surveylib.sources import ingest

    monkeypatch.setenv("SURVEYLIB_WORKERS", "3")
    corpus, _ = ingest(sorted((ROOT / "bib" / "sources").glob("*.txt")), root=ROOT)
    corpus = corpus.iloc[::-1]  # an index not in order: the parts must be put back where they were
    one = classify(corpus, taxonomy, workers=1)
    three = classify(corpus, taxonomy, workers=3)
    pd.testing.assert_frame_equal(one, three)
    assert one[[t.name for t in taxonomy.themes]].to_numpy().any()


def test_hyperscan_background_cues_equal_the_plain_regexes(taxonomy):
    """Scene-setting sentences found with Hyperscan (large batches) are the ones ``re`` finds."""
    from surveylib.sources import ingest

    corpus, _ = ingest(sorted((ROOT / "bib" / "sources").glob("*.txt")), root=ROOT)
    compiled = _compiled(taxonomy)
    fast, plain = compiled.sets_scene(fast=True), compiled.sets_scene(fast=False)
    sentences = ["recent mllms have shown strong results.", "we show that recent mllms fail.",
                 "existing methods prune tokens.", "", "récemment, les modèles ont montré…"]
    for abstract in corpus["abstract"].fillna(""):
        text = _Text("", abstract)
        b = text.bounds()
        sentences += [text.labstract[b[k]:b[k + 1]] for k in range(len(b) - 1)]
    found = [fast(s) for s in sentences]
    assert found == [plain(s) for s in sentences]
    assert found[:3] == [True, False, True] and 50 < sum(found) < len(found) - 50


def test_a_needs_other_signal_counts_only_with_another_signal_of_its_theme(tmp_path):
    """A weak cue marked needs = "other" adds nothing alone, and its full weight in company; the
    same on the plain and the Hyperscan path."""
    from surveylib.taxonomy.classify import classify_one

    body = """
[themes.pruning]
threshold = 1
signals = [{{ pattern = '\\btoken pruning', weight = 3 }},
           {{ pattern = '\\blatency\\b', weight = 1{needs} }},
           {{ pattern = '\\bquantiz\\w*', weight = -1 }}]
"""
    (tmp_path / "needs.toml").write_text(body.format(needs=', needs = "other"'), encoding="utf-8")
    (tmp_path / "always.toml").write_text(body.format(needs=""), encoding="utf-8")
    needs, always = load_taxonomy(tmp_path / "needs.toml"), load_taxonomy(tmp_path / "always.toml")
    papers = pd.DataFrame({"title": ["A", "B", "C", "D"], "abstract": [
        "We cut the latency of serving.",                       # the weak cue alone
        "We cut the latency of serving with token pruning.",   # in company
        "Quantized weights cut the latency.",                  # a negative signal is no company
        "Token pruning for images."]})                         # the strong cue alone
    expected_needs, expected_always = [0.0, 4.0, -1.0, 3.0], [1.0, 4.0, 0.0, 3.0]
    for tax, expected in ((needs, expected_needs), (always, expected_always)):
        plain = classify(papers, tax)
        assert plain["pruning_score"].tolist() == expected
        assert [classify_one(t, a, tax)["pruning_score"] for t, a in zip(papers.title, papers.abstract)] == expected
        if scan.AVAILABLE:  # a batch large enough for the Hyperscan path gives the same scores
            big = classify(pd.concat([papers] * (scan.FAST_MIN // 4 + 1), ignore_index=True), tax, workers=1)
            assert big["pruning_score"].tolist()[:4] == expected
            assert big["pruning_evidence"].tolist()[:4] == plain["pruning_evidence"].tolist()
    assert classify(papers, needs)["pruning_evidence"][0] == ""  # the lone cue is no evidence either
    (tmp_path / "bad.toml").write_text(body.format(needs=', needs = "company"'), encoding="utf-8")
    with pytest.raises(SurveyError, match="needs"):
        load_taxonomy(tmp_path / "bad.toml")


def test_needs_strong_cues_are_no_company_for_each_other(tmp_path):
    """Two weak cues marked needs = "other" keep each other company; marked needs = "strong" they
    count only beside a signal that counts on its own, so weak cues together never make a paper.
    The same on the plain and the Hyperscan path."""
    body = """
[themes.unified]
threshold = 3
signals = [{{ pattern = '\\bunderstanding and generation\\b', weight = 3 }},
           {{ pattern = '\\bimage generation\\b', weight = 1.5{needs} }},
           {{ pattern = '\\bautoregressive\\b', weight = 1.5{needs} }}]
"""
    (tmp_path / "other.toml").write_text(body.format(needs=', needs = "other"'), encoding="utf-8")
    (tmp_path / "strong.toml").write_text(body.format(needs=', needs = "strong"'), encoding="utf-8")
    other, strong = load_taxonomy(tmp_path / "other.toml"), load_taxonomy(tmp_path / "strong.toml")
    papers = pd.DataFrame({"title": ["A", "B"], "abstract": [
        "Fast autoregressive image generation.",                                  # two weak cues
        "Autoregressive image generation for understanding and generation."]})    # and a strong one
    for tax, scores, members in ((other, [3.0, 6.0], [True, True]), (strong, [0.0, 6.0], [False, True])):
        plain = classify(papers, tax)
        assert plain["unified_score"].tolist() == scores and plain["unified"].tolist() == members
        if scan.AVAILABLE:
            big = classify(pd.concat([papers] * (scan.FAST_MIN // 2 + 1), ignore_index=True), tax, workers=1)
            assert big["unified_score"].tolist()[:2] == scores
    assert classify(papers, strong)["unified_evidence"][0] == ""


def test_a_taxonomy_without_scene_cues_has_no_scene_setting_sentences(tmp_path):
    tax = _mini(tmp_path, _MINI.replace("background = ['^(?:recent|existing) ']\n", ""))
    assert tax.background == ()
    for fast in (False, True):  # also on the Hyperscan path, which large batches take
        assert _compiled(tax).sets_scene(fast=fast)("recent visual models use token pruning.") is False
