"""Citation keys: the derivation rule, clash suffixes, pins that never move."""
from __future__ import annotations

from pathlib import Path

import pytest

from surveylib.bibliography import assign_keys, base_key, read_pins, with_keys, write_pins
from surveylib.corpus import Paper, normalize_title, to_frame
from surveylib.errors import SurveyError
from surveylib.sources import ingest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("title, key", [
    ("LMEye: An Interactive Perception Network for Large Language Models", "lmeye"),
    ("TC-LLaVA: Rethinking the Transfer from Image to Video Understanding", "tc-llava"),
    ("Long Context Transfer from Language to Vision", "long-context-transfer"),
    ("2.5 Years in Class: A Multimodal Textbook", "2-5-years"),
    ("Ünïcödé Tïtle: with accents", "unicode-title"),
    ("多模态大模型综述", "paper"),  # nothing ASCII to derive from
    ("Llama 2: Open Foundation Models", "llama-2"),
    ("Llama 3: Open Foundation Models", "llama-3"),
])
def test_base_key_rule(title, key):
    assert base_key(title) == key
    assert base_key(title).isascii()


def test_clashes_get_letters_and_keys_are_unique_ignoring_case():
    keys, pins = assign_keys(["LLaVA: One", "LLaVA: Two", "llava: three", "LLaVA: One"], {})
    assert keys == ["llava", "llavab", "llavac", "llava"]  # the same paper twice keeps one key
    assert len(pins) == 3


def test_case_only_twins_are_one_paper_and_version_digits_are_two():
    assert normalize_title("Case Twins: Same Title") == normalize_title("case twins: same title")
    keys, _ = assign_keys(["Scaling Laws v2 for Vision", "Scaling Laws v3 for Vision"], {})
    assert keys[0] != keys[1]


def test_pins_win_and_new_keys_avoid_pins_and_reserved():
    pins = {normalize_title("LLaVA: Two"): "llava"}
    keys, new = assign_keys(["LLaVA: One", "LLaVA: Two"], pins, reserved=["LLaVAb"])
    assert keys == ["llavac", "llava"]
    assert new[normalize_title("LLaVA: Two")] == "llava"


def test_keys_stay_put_when_a_paper_arrives_ahead(tmp_path):
    old = ["MIO: A Foundation Model", "PIN: A Dataset"]
    keys, pins = assign_keys(old, {})
    write_pins(tmp_path / "keys.csv", [(k, t) for k, t in zip(keys, old)])
    loaded, _ = read_pins(tmp_path / "keys.csv")
    later, _ = assign_keys(["MIO: Another Paper", *old], loaded)
    assert later == ["miob", "mio", "pin"]


def test_pin_file_errors_name_the_line(tmp_path):
    path = tmp_path / "keys.csv"
    path.write_text("key,title\nabc,First\nABC,Second\n", encoding="utf-8")
    with pytest.raises(SurveyError) as err:
        read_pins(path)
    assert err.value.where == f"{path}:3"
    path.write_text("key,title\nbad key,First\n", encoding="utf-8")
    with pytest.raises(SurveyError):
        read_pins(path)
    path.write_text("name,title\nx,y\n", encoding="utf-8")
    with pytest.raises(SurveyError):
        read_pins(path)


def test_with_keys_is_pure_and_gives_the_real_pins():
    keys_path = ROOT / "bib" / "keys.csv"
    before = keys_path.read_bytes()
    corpus, _ = ingest(sorted((ROOT / "bib" / "sources").glob("*.txt")))
    keyed = with_keys(corpus, keys_path)
    _, rows = read_pins(keys_path)
    pinned = {normalize_title(t): k for k, t in rows}
    assert [pinned[normalize_title(t)] for t in keyed["title"]] == keyed["key"].tolist()
    assert keyed["key"].str.lower().is_unique
    assert "key" not in corpus.columns  # input untouched
    assert keys_path.read_bytes() == before


def test_with_keys_gives_provisional_keys_to_new_papers(tmp_path):
    corpus = to_frame([Paper("LMEye: New"), Paper("Fresh Paper on Tokens")])
    keyed = with_keys(corpus, tmp_path / "missing.csv")
    assert keyed["key"].tolist() == ["lmeye", "fresh-paper-tokens"]
    assert not (tmp_path / "missing.csv").exists()


def test_pin_file_lines_count_blank_lines_and_quoted_newlines(tmp_path):
    path = tmp_path / "keys.csv"
    path.write_text('key,title\n\nabc,"A title\nover two lines"\n\nxyz,Other\nABC,Third\n', encoding="utf-8")
    with pytest.raises(SurveyError) as err:
        read_pins(path)
    assert err.value.where == f"{path}:7" and "line 4" in str(err.value)  # as csv counts lines
    # Extra columns, a short row, columns in another order: read by header name.
    path.write_text("title,note,key\nFirst Paper,x,first\nSecond Paper,,second\nThird,y\n", encoding="utf-8")
    with pytest.raises(SurveyError) as err:
        read_pins(path)
    assert err.value.where == f"{path}:4"
    path.write_text("\ufefftitle,note,key\nFirst Paper,x,first\n\nSecond Paper,,second\n", encoding="utf-8")
    pins, rows = read_pins(path)
    assert rows == [("first", "First Paper"), ("second", "Second Paper")]
    assert pins == {normalize_title("First Paper"): "first", normalize_title("Second Paper"): "second"}


def test_the_pin_table_just_written_reads_back_as_the_file_does(tmp_path):
    from surveylib.bibliography import keys as keys_module

    path = tmp_path / "keys.csv"
    rows = [("a", " Padded title "), ("b", "Line\r\nbreak"), ("c", "Plain")]
    keys_module.write_pins(path, rows)
    remembered = keys_module.read_pins(path)
    keys_module._WRITTEN.clear()  # forget it: parse the file
    assert keys_module.read_pins(path) == remembered
    path.write_text("key,title\nz,Edited by hand\n", encoding="utf-8")  # a later edit is read, not remembered
    assert keys_module.read_pins(path)[1] == [("z", "Edited by hand")]
