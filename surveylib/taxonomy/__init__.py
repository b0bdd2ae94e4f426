"""Taxonomy: themes and sub-themes from ``bib/taxonomy.toml``, a classifier that shows its evidence,
the author's overrides, and evaluation against labelled papers.

Entry points::

    taxonomy = load_taxonomy("bib/taxonomy.toml")
    frame = classify(papers, taxonomy)             # papers: DataFrame with title, abstract
    frame = apply_overrides(frame, read_overrides("bib/overrides.csv"), taxonomy)
    report = evaluate(classify(labels, taxonomy), labels)   # labels = read_labels("dev.jsonl")
    corpus_taxonomy(config)                        # the project's corpus, keyed, classified, overridden
    review_queue(frame, taxonomy)                  # the borderline decisions, closest to a threshold first
    write_learned(train(read_labels("bib/labelled.jsonl"), taxonomy), "bib/learned.json")  # survey train
"""
from .classify import classify, classify_one
from .corpus import corpus_keywords, corpus_taxonomy
from .evaluate import EvalReport, ThemeScore, evaluate, read_labels, score_theme
from .facts import extract_claims, extract_facts, method_name
from .learned import Learned, read_learned, train, write_learned
from .model import Facet, Signal, SubTheme, Taxonomy, Theme, load_taxonomy, parse_taxonomy
from .overrides import apply_overrides, read_overrides
from .review import review_queue

__all__ = [
    "EvalReport", "Facet", "Learned", "Signal", "SubTheme", "Taxonomy", "Theme", "ThemeScore",
    "apply_overrides", "classify", "classify_one", "corpus_keywords", "corpus_taxonomy", "evaluate",
    "extract_claims", "extract_facts", "load_taxonomy", "method_name", "parse_taxonomy", "read_labels",
    "read_learned", "read_overrides", "review_queue", "score_theme", "train", "write_learned",
]
