"""Pandoc citation syntax: what is and is not a citation, and rewriting."""
from surveylib.citations import cited_keys, find_citations, load_bib, replace_citations


def keys(text):
    return [c.keys for c in find_citations(text)]


def test_bracketed_single_and_multiple():
    assert keys("as shown [@alpha] and [@alpha; @beta-net].") == [("alpha",), ("alpha", "beta-net")]


def test_prefix_suffix_and_suppressed_author():
    (cite,) = find_citations("[see @alpha, p. 3]")
    assert cite.items[0].prefix == "see" and cite.items[0].suffix == "p. 3"
    (cite,) = find_citations("[-@alpha]")
    assert cite.items[0].suppress_author and cite.keys == ("alpha",)


def test_narrative_and_trailing_punctuation():
    found = find_citations("@gamma shows it. So does @beta-net, and @alpha.")
    assert [c.keys for c in found] == [("gamma",), ("beta-net",), ("alpha",)]
    assert all(c.narrative for c in found)


def test_braced_key():
    assert keys("[@{odd:key.1}]") == [("odd:key.1",)]


def test_email_code_links_and_tags_are_not_citations():
    text = ("mail survey@example.com or <a href=\"mailto:x@y.org\">x@y.org</a>; `@property` and "
            "```[@notakey]```; [@link](https://x.org/@user) <https://x.org/@u>\n\n```python\n@decorator\n```\n"
            "$a@b$ <code>[@c]</code> \\@escaped")
    assert keys(text) == []


def test_bracket_without_keys_is_text():
    assert keys("[an aside] and [a @ sign]") == []


def test_replace_and_cited_keys_keep_other_text():
    text = "A [@a; @b] and @c."
    assert replace_citations(text, lambda c: "<" + ",".join(c.keys) + ">") == "A <a,b> and <c>."
    assert cited_keys("[@b] @a [@b; @c]") == ["b", "a", "c"]


def test_html_text_nodes_only():
    html = '<td title="[@a]">Alpha [@alpha]</td>'
    assert keys(html) == [("alpha",)]


def test_load_bib(tmp_path):
    bib = tmp_path / "x.bib"
    bib.write_text("@article{k1, author = {A B and C D}, title = {{GPT} Stuff}, year = {2024}}\n", encoding="utf-8")
    entries = load_bib(bib)
    assert entries["k1"]["ENTRYTYPE"] == "article"
    assert entries["k1"]["title"] == "{GPT} Stuff"
