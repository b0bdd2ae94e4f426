"""The learned part of the classifier: training, the model file, how classify uses it, the command."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from surveylib.cli import main
from surveylib.errors import SurveyError
from surveylib.taxonomy import classify, load_taxonomy, read_labels
from surveylib.taxonomy.learned import cue_matrix, read_learned, train, write_learned

ROOT = Path(__file__).resolve().parents[1]

# One theme whose rule is weak on purpose: "alpha" once in the abstract scores 1, below the
# threshold of 3, so such a paper is a near miss the model may add.
TAXONOMY = """
[settings]
title_weight = 2.0
# Scene-setting cues: on the fast path their own Hyperscan database is built before the cues'.
background_weight = 0.5
background = ['^recent ']
foreground = ['\\bwe\\b']
{learned}
[themes.alpha]
threshold = 3
signals = ['\\balpha\\b']
[[themes.alpha.subthemes]]
name = "first"
signals = ['\\bfirst\\b']
"""

# Labelled papers: every paper in the theme says "zebra" (and "alpha" once); those out of it say
# "alpha" without "zebra", or neither. Filler words vary so that "zebra" is what tells them apart.
FILLER = ["river", "cloud", "stone", "lamp", "garden", "engine", "paper", "window", "market", "forest"]


def labelled() -> pd.DataFrame:
    rows = []
    for i, word in enumerate(FILLER):
        title = f"On the {word}"
        rows.append({"title": title, "abstract": f"We measure alpha with zebra near the {word}.", "alpha": True})
        rows.append({"title": title, "abstract": f"We measure alpha near the {word} only.", "alpha": False})
        rows.append({"title": title, "abstract": f"Plain {word} observations of many kinds.", "alpha": False})
    return pd.DataFrame(rows)


def project(tmp_path: Path, learned: str | None = "model.json") -> Path:
    path = tmp_path / "taxonomy.toml"
    path.write_text(TAXONOMY.format(learned=f'learned = "{learned}"' if learned else ""), encoding="utf-8")
    return path


@pytest.fixture()
def trained(tmp_path):
    """(taxonomy with its learned model, the same without it)."""
    path = project(tmp_path)
    rules = load_taxonomy(path, learned=False)
    write_learned(train(labelled(), rules, max_share=0.5), tmp_path / "model.json")
    return load_taxonomy(path), rules


def test_training_finds_the_word_that_separates_the_labels(tmp_path):
    rules = load_taxonomy(project(tmp_path), learned=False)
    model = train(labelled(), rules, max_share=0.5).themes["alpha"]
    weights = {c.phrase: c.weight for c in model.cues}
    assert max(weights, key=weights.get) == "zebra"
    assert model.rule_weight > 0  # the rules' score counts for the theme


def test_the_model_adds_a_near_miss_the_rules_leave_out(trained):
    taxonomy, rules = trained
    papers = pd.DataFrame({"title": ["Counting things", "Counting others"],
                           "abstract": ["We count alpha with zebra near the lake.", "We count alpha near the lake."]})
    by_rules, by_both = classify(papers, rules), classify(papers, taxonomy)
    assert by_rules["alpha"].tolist() == [False, False]
    assert by_both["alpha"].tolist() == [True, False]
    assert by_both["alpha_score"].tolist() == by_rules["alpha_score"].tolist() == [1.0, 1.0]
    evidence = by_both.loc[0, "alpha_evidence"]
    assert evidence.startswith("learned p=") and '"zebra"' in evidence and '+1 "alpha"' in evidence
    assert by_both.loc[0, "alpha_subtheme"] == "other"  # filled for every paper in the theme
    assert by_both.loc[1, "alpha_evidence"] == by_rules.loc[1, "alpha_evidence"]


def test_the_model_never_adds_a_paper_without_rule_evidence_nor_removes_one(trained):
    taxonomy, rules = trained
    papers = pd.DataFrame({"title": ["Zebra zebra", "Alpha first"],
                           "abstract": ["Zebra stripes of a zebra.", "We study alpha, first of all."]})
    by_rules, by_both = classify(papers, rules), classify(papers, taxonomy)
    assert by_both["alpha"].tolist() == by_rules["alpha"].tolist() == [False, True]


def test_the_same_decisions_on_the_fast_path(trained):
    from surveylib.taxonomy import scan

    taxonomy, _ = trained
    papers = pd.DataFrame({"title": ["Counting things"] * scan.FAST_MIN,
                           "abstract": ["We count alpha with zebra near the lake.", "We count alpha near the lake."] * (scan.FAST_MIN // 2)})
    one = classify(papers.head(2), taxonomy)
    many = classify(papers, taxonomy, workers=1)
    assert many["alpha"].head(2).tolist() == one["alpha"].tolist() == [True, False]
    assert many["alpha_evidence"].head(2).tolist() == one["alpha_evidence"].tolist()


def test_the_model_file_round_trips_and_training_is_deterministic(tmp_path):
    rules = load_taxonomy(project(tmp_path), learned=False)
    first = write_learned(train(labelled(), rules, max_share=0.5), tmp_path / "a.json")
    second = write_learned(train(labelled(), rules, max_share=0.5), tmp_path / "b.json")
    assert first.read_bytes() == second.read_bytes()
    back = read_learned(first)
    assert back.themes == train(labelled(), rules, max_share=0.5).themes
    assert json.loads(first.read_text())["themes"]["alpha"]["cues"][0][0] == "zebra"


def test_training_needs_papers_on_both_sides(tmp_path):
    rules = load_taxonomy(project(tmp_path), learned=False)
    labels = labelled()
    labels["alpha"] = False
    with pytest.raises(SurveyError, match="needs at least 3 labelled papers in it"):
        train(labels, rules, max_share=0.5)
    with pytest.raises(SurveyError, match="no column for theme"):
        train(labels.drop(columns="alpha"), rules)


def test_a_missing_or_bad_model_file_is_an_error_naming_it(tmp_path):
    path = project(tmp_path)
    with pytest.raises(SurveyError) as err:
        load_taxonomy(path)
    assert "settings.learned" in str(err.value) and "survey train" in str(err.value)
    (tmp_path / "model.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SurveyError, match="model.json.*not valid JSON"):
        load_taxonomy(path)
    rules = load_taxonomy(path, learned=False)
    model = train(labelled(), rules, max_share=0.5)
    write_learned(dataclasses.replace(model, title_weight=3.0), tmp_path / "model.json")
    with pytest.raises(SurveyError, match="title_weight"):
        load_taxonomy(path)


def test_survey_train_writes_the_model_classify_then_uses(tmp_path, capsys):
    path = project(tmp_path)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(labelled().to_json(orient="records", lines=True), encoding="utf-8")
    assert main(["train", str(labels), "--taxonomy", str(project(tmp_path, None))]) == 1
    assert "names no learned model file" in capsys.readouterr().err
    papers = tmp_path / "papers.jsonl"
    papers.write_text('{"title": "Counting things", "abstract": "We count alpha with zebra near the lake."}\n', encoding="utf-8")
    path = project(tmp_path)
    # The default drops words found in more than 5% of the papers: in this tiny set, every word.
    assert main(["train", str(labels), "--taxonomy", str(path)]) == 1
    assert "too few labelled papers" in capsys.readouterr().err
    assert main(["train", str(labels), "--taxonomy", str(path), "--max-share", "0.5"]) == 0
    assert "learned from 30 papers" in capsys.readouterr().out
    assert main(["classify", str(papers), "-o", str(tmp_path / "out.csv"), "--taxonomy", str(path)]) == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["alpha"].tolist() == [True] and out["alpha_evidence"][0].startswith("learned p=")


def test_the_shipped_model_holds_vocabulary_learned_from_the_shipped_labels():
    taxonomy = load_taxonomy(ROOT / "bib" / "taxonomy.toml")
    learned = taxonomy.learned
    labels = read_labels(ROOT / "bib" / "labelled.jsonl")
    assert learned is not None and set(learned.themes) == set(taxonomy.names)
    assert learned.papers == len(labels)
    phrases = sorted({c.phrase for m in learned.themes.values() for c in m.cues})
    found = cue_matrix(labels["title"].tolist(), labels["abstract"].tolist(), phrases, learned.title_weight) > 0
    # Every cue is a word of several papers, never one paper's name.
    assert found.sum(axis=0).min() >= 3, [p for p, n in zip(phrases, found.sum(axis=0)) if n < 3]
    for theme in taxonomy.names:
        assert labels[theme].sum() >= 100  # enough papers in each theme to learn from
