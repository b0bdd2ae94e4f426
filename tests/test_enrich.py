"""survey enrich: the real client against a local HTTP server speaking the arXiv API's Atom."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from surveylib.cli import main
from surveylib.config import Config, load_config
from surveylib.corpus import Paper, normalize_title, to_frame
from surveylib.enrich import (ArxivClient, FetchError, dump_metadata, enrich, load_metadata, match_title,
                              title_query)
from surveylib.errors import SurveyError

FIXTURES = Path(__file__).parent / "fixtures"
HIT = (FIXTURES / "enrich_hit.atom").read_text(encoding="utf-8")
NEAR_MISS = (FIXTURES / "enrich_near_miss.atom").read_text(encoding="utf-8")
EMPTY = (FIXTURES / "enrich_empty.atom").read_text(encoding="utf-8")
AMBIGUOUS = (FIXTURES / "enrich_ambiguous.atom").read_text(encoding="utf-8")
MALFORMED = (FIXTURES / "enrich_malformed.atom").read_text(encoding="utf-8")
API_ERROR = (FIXTURES / "enrich_error.atom").read_text(encoding="utf-8")

# Titles as the Daily Papers pages give them (note the colon and case the API query must survive).
T_HIT = "Visual Instruction Tuning"
T_NEAR = "Vision Transformers Need Registers"
T_NONE = "A Paper That arXiv Has Never Heard Of"
T_AMBIG = "Unified Multimodal Understanding and Generation"


# --- a fake arXiv API on 127.0.0.1 ---------------------------------------------------------

class FakeArxiv:
    """Serves scripted answers per exact-title phrase: a list of (status, body, stall) consumed in
    order (the last one repeats); stall=True holds the answer until the test ends. Records every
    request's phrase and headers."""

    def __init__(self):
        self.routes: dict[str, list] = {}
        self.requests: list[dict] = []
        self.release = threading.Event()
        self.stalled = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                search = query.get("search_query", [""])[0]
                phrase = search[len('ti:"'):-1] if search.startswith('ti:"') and search.endswith('"') else search
                fake.requests.append({"phrase": phrase, "search": search, "headers": dict(self.headers),
                                      "max_results": query.get("max_results", [""])[0]})
                script = fake.routes.get(phrase, [(200, EMPTY, False)])
                status, body, stall = script.pop(0) if len(script) > 1 else script[0]
                if stall:
                    fake.stalled.set()
                    fake.release.wait(30)
                data = body.encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/query"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def route(self, title: str, *answers):
        self.routes[normalize_title(title)] = list(answers)

    def phrases(self) -> list[str]:
        return [r["phrase"] for r in self.requests]

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def no_proxy_for_localhost(monkeypatch):
    # A user's http_proxy must not swallow requests to the local server (urllib honours no_proxy).
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def api():
    fake = FakeArxiv()
    fake.route(T_HIT, (200, HIT, False))
    fake.route(T_NEAR, (200, NEAR_MISS, False))
    fake.route(T_NONE, (200, EMPTY, False))
    fake.route(T_AMBIG, (200, AMBIGUOUS, False))
    yield fake
    fake.close()


def corpus(*titles):
    return to_frame([Paper(title=t, abstract=f"About {t}.") for t in titles])


def project(tmp_path) -> Config:
    return Config(root=tmp_path, metadata=tmp_path / "bib" / "metadata.json")


def run(config, frame, api, **kw):
    kw = {"base_url": api.url, "delay": 0, "timeout": 5, "progress": False, **kw}
    return enrich(config, corpus=frame, **kw)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/query"


# --- against the server --------------------------------------------------------------------

def test_exact_hit_fills_metadata_and_is_cached(tmp_path, api):
    config = project(tmp_path)
    report = run(config, corpus(T_HIT), api)
    assert (report.found, report.not_found, report.errors) == (1, 0, 0)
    record = load_metadata(config.metadata)[normalize_title(T_HIT)]
    assert record["status"] == "found"
    assert record["authors"] == ["Haotian Liu", "Chunyuan Li", "Qingyang Wu", "Yong Jae Lee"]
    assert (record["year"], record["eprint"], record["archive_prefix"], record["primary_class"]) == \
        (2023, "2304.08485", "arXiv", "cs.CV")
    assert record["url"] == "https://arxiv.org/abs/2304.08485"
    assert record["title"] == "Visual Instruction Tuning" and record["query"] == T_HIT
    assert len(record["checked"]) == 10  # ISO date
    # the request: an exact-title phrase search, with a User-Agent naming surveylib and a contact
    (req,) = api.requests
    assert req["search"] == 'ti:"visual instruction tuning"'
    ua = req["headers"]["User-Agent"]
    assert ua.startswith("surveylib/") and ("http" in ua or "@" in ua)


def test_near_miss_title_is_rejected_and_recorded(tmp_path, api):
    config = project(tmp_path)
    report = run(config, corpus(T_NEAR), api)
    assert (report.found, report.not_found) == (0, 1)
    record = load_metadata(config.metadata)[normalize_title(T_NEAR)]
    assert record["status"] == "not_found"
    assert "Don't Need Trained Registers" in record["note"] and "rejected" in record["note"]
    assert "eprint" not in record and "authors" not in record
    assert record["candidates"][0]["eprint"] == "2506.08010"
    assert "not_found" in str(report) and T_NEAR in str(report)


def test_no_result_is_not_found(tmp_path, api):
    config = project(tmp_path)
    report = run(config, corpus(T_NONE), api)
    assert report.not_found == 1
    record = load_metadata(config.metadata)[normalize_title(T_NONE)]
    assert record["status"] == "not_found" and "no record" in record["note"]


def test_two_records_with_the_title_are_ambiguous_never_guessed(tmp_path, api):
    config = project(tmp_path)
    report = run(config, corpus(T_AMBIG), api)
    assert report.ambiguous == 1
    record = load_metadata(config.metadata)[normalize_title(T_AMBIG)]
    assert record["status"] == "ambiguous" and "eprint" not in record
    assert sorted(c["eprint"] for c in record["candidates"]) == ["2401.11111", "2409.22222"]


def test_503_then_success_is_retried(tmp_path, api):
    api.route(T_HIT, (503, "Service Unavailable", False), (200, HIT, False))
    config = project(tmp_path)
    report = run(config, corpus(T_HIT), api, retries=3)
    assert report.found == 1 and report.errors == 0
    assert api.phrases() == [normalize_title(T_HIT)] * 2
    assert load_metadata(config.metadata)[normalize_title(T_HIT)]["eprint"] == "2304.08485"


def test_persistent_5xx_gives_up_after_the_retries_and_caches_nothing(tmp_path, api):
    api.route(T_HIT, (500, "oops", False))
    config = project(tmp_path)
    report = run(config, corpus(T_HIT, T_NONE), api, retries=2)
    assert report.errors == 1 and report.not_found == 1
    assert api.phrases() == [normalize_title(T_HIT)] * 3 + [normalize_title(T_NONE)]
    cache = load_metadata(config.metadata)
    assert normalize_title(T_HIT) not in cache  # so the next run retries it
    assert "HTTP 500" in str(report)


def test_client_error_is_not_retried(tmp_path, api):
    api.route(T_HIT, (400, "bad query", False))
    report = run(project(tmp_path), corpus(T_HIT), api, retries=3)
    assert report.errors == 1 and len(api.requests) == 1


def test_malformed_feed_is_an_error_not_a_record(tmp_path, api):
    api.route(T_HIT, (200, MALFORMED, False))
    config = project(tmp_path)
    report = run(config, corpus(T_HIT, T_NEAR), api)
    assert report.errors == 1 and report.not_found == 1
    assert any(status == "error" and "malformed feed" in note for _, status, note in report.results)
    assert normalize_title(T_HIT) not in load_metadata(config.metadata)


def test_api_error_entry_is_an_error(tmp_path, api):
    api.route(T_HIT, (200, API_ERROR, False))
    report = run(project(tmp_path), corpus(T_HIT), api)
    assert report.errors == 1 and "error entry" in report.results[0][2]


def test_slow_response_past_the_timeout_is_retried_then_given_up(tmp_path, api):
    api.route(T_NONE, (200, EMPTY, True))  # never answers in time
    config = project(tmp_path)
    report = run(config, corpus(T_NONE, T_HIT), api, timeout=0.3, retries=1)
    assert report.errors == 1 and report.found == 1
    assert api.phrases() == [normalize_title(T_NONE)] * 2 + [normalize_title(T_HIT)]
    assert "no answer within 0.3 s" in report.results[0][2]
    assert list(load_metadata(config.metadata)) == [normalize_title(T_HIT)]


def test_resume_skips_papers_already_in_the_cache(tmp_path, api):
    config = project(tmp_path)
    frame = corpus(T_HIT, T_NEAR, T_NONE, T_AMBIG)
    first = run(config, frame, api, limit=2)
    assert first.checked == 2 and first.to_check == 4
    assert "2 paper(s) left" in str(first)
    assert set(load_metadata(config.metadata)) == {normalize_title(T_HIT), normalize_title(T_NEAR)}
    api.requests.clear()
    second = run(config, frame, api)
    assert second.cached == 2 and second.checked == 2
    assert api.phrases() == [normalize_title(T_NONE), normalize_title(T_AMBIG)]
    assert len(load_metadata(config.metadata)) == 4
    api.requests.clear()
    third = run(config, frame, api)
    assert third.cached == 4 and third.checked == 0 and api.requests == []
    # --recheck asks again about the ones not found, never the found one
    run(config, frame, api, recheck=True)
    assert sorted(api.phrases()) == sorted(normalize_title(t) for t in (T_NEAR, T_NONE, T_AMBIG))


def test_papers_that_already_have_metadata_are_not_queried(tmp_path, api):
    complete = Paper(title=T_HIT, authors=["H. Liu"], year=2023, eprint="2304.08485")
    report = run(project(tmp_path), to_frame([complete, Paper(title=T_NONE)]), api)
    assert report.complete == 1 and api.phrases() == [normalize_title(T_NONE)]


def test_dry_run_queries_nothing_and_writes_nothing(tmp_path, api):
    config = project(tmp_path)
    report = run(config, corpus(T_HIT, T_NONE), api, dry_run=True)
    assert api.requests == [] and not config.metadata.exists()
    assert [t for t, _, _ in report.results] == [T_HIT, T_NONE]
    assert "dry run" in str(report)


def test_offline_flag_does_nothing(tmp_path, api):
    config = project(tmp_path)
    report = run(config, corpus(T_HIT), api, offline=True)
    assert report.offline and api.requests == [] and not config.metadata.exists()
    assert "offline" in str(report)


def test_unreachable_host_at_first_request_means_offline(tmp_path):
    config = project(tmp_path)
    report = enrich(config, corpus=corpus(T_HIT, T_NONE), base_url=closed_port_url(), delay=0,
                    timeout=5, progress=False)
    assert report.offline and report.checked == 0 and report.requests == 1
    assert not config.metadata.exists()
    assert "offline" in str(report) and "cannot reach" in str(report)


def test_requests_are_spaced_by_the_delay(tmp_path, api):
    # The arXiv API asks for one request every 3 s; a lower bound, so this cannot flake.
    times = []
    client = ArxivClient(base_url=api.url, delay=0.2, timeout=5, retries=0)
    import time
    for title in (T_HIT, T_NONE, T_NEAR):
        client.search_title(title)
        times.append(time.monotonic())
    assert all(b - a >= 0.19 for a, b in zip(times, times[1:]))


# --- the command --------------------------------------------------------------------------

def write_project(tmp_path, base_url, titles, extra="") -> Path:
    rows = "title,abstract\n" + "".join(f'"{t}","About {t}."\n' for t in titles)
    (tmp_path / "papers.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "survey.toml").write_text(
        '[corpus]\nsources = ["papers.csv"]\n\n[enrich]\n'
        f'base_url = "{base_url}"\ndelay = 0\n{extra}', encoding="utf-8")
    return tmp_path / "survey.toml"


def test_cli_reads_base_url_from_survey_toml(tmp_path, api, capsys):
    toml = write_project(tmp_path, api.url, [T_HIT, T_NEAR])
    assert main(["enrich", "--config", str(toml), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "1 found, 1 not found" in out
    assert len(load_metadata(tmp_path / "bib" / "metadata.json")) == 2
    assert len(api.requests) == 2


def test_cli_offline_exits_zero_and_says_so(tmp_path, capsys):
    toml = write_project(tmp_path, closed_port_url(), [T_HIT])
    assert main(["enrich", "--config", str(toml), "--no-progress"]) == 0
    assert "offline" in capsys.readouterr().out
    assert main(["enrich", "--config", str(toml), "--offline"]) == 0
    assert "--offline given" in capsys.readouterr().out
    assert not (tmp_path / "bib" / "metadata.json").exists()


def test_cli_dry_run_and_limit(tmp_path, api, capsys):
    toml = write_project(tmp_path, api.url, [T_HIT, T_NEAR, T_NONE])
    assert main(["enrich", "--config", str(toml), "--dry-run", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("would query") == 2 and api.requests == []
    assert main(["enrich", "--config", str(toml), "--limit", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["checked"] == 1 and data["found"] == 1


def test_interrupted_run_keeps_what_it_checked_and_resumes(tmp_path, api):
    # The second request stalls; we interrupt the command (Ctrl-C) while it waits.
    api.route(T_NEAR, (200, NEAR_MISS, True), (200, NEAR_MISS, False))
    toml = write_project(tmp_path, api.url, [T_HIT, T_NEAR, T_NONE])
    code = "import sys; from surveylib.cli import main; sys.exit(main())"
    proc = subprocess.Popen([sys.executable, "-c", code, "enrich", "--config", str(toml), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert api.stalled.wait(60), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "interrupted" in err
    cache_file = tmp_path / "bib" / "metadata.json"
    assert list(load_metadata(cache_file)) == [normalize_title(T_HIT)]
    assert not [p for p in cache_file.parent.iterdir() if p.name.endswith(".tmp")]
    api.requests.clear()
    report = enrich(load_config(toml), progress=False)
    assert report.cached == 1 and report.checked == 2
    assert api.phrases() == [normalize_title(T_NEAR), normalize_title(T_NONE)]
    assert len(load_metadata(cache_file)) == 3


# --- the pure parts -----------------------------------------------------------------------

def P(title, eprint):
    return Paper(title=title, eprint=eprint, authors=["X"], year=2024, archive_prefix="arXiv")


def test_match_title_rules():
    # punctuation, case and LaTeX-ish spacing do not matter
    assert match_title("LLaVA-OneVision: Easy Visual Task Transfer",
                       [P("LLaVA-OneVision: Easy   Visual Task Transfer", "2408.03326")])["status"] == "found"
    # different numbers are different papers, however close the words
    rec = match_title("Qwen2-VL: Enhancing Vision-Language Model's Perception of the World at Any Resolution",
                      [P("Qwen2.5-VL: Enhancing Vision-Language Model's Perception of the World at Any Resolution",
                         "2502.13923")])
    assert rec["status"] == "not_found"
    # an exact match wins over a merely close one; the same eprint twice is one record
    rec = match_title("Emu3: Next-Token Prediction is All You Need",
                      [P("Emu3: Next Token Prediction is All You Need!", "2409.18869"),
                       P("Emu3: Next-Token Prediction is All You Need", "2409.18869"),
                       P("Emu3: Next-Token Predictions is All You Need", "2499.00001")])
    assert rec["status"] == "found" and rec["eprint"] == "2409.18869"
    assert match_title("Anything", [])["status"] == "not_found"


def test_title_query_is_a_phrase_search_without_query_syntax():
    assert title_query('LLaVA-NeXT: "Stronger" (LLMs)') == 'ti:"llava next stronger llms"'


def test_load_metadata(tmp_path):
    path = tmp_path / "metadata.json"
    assert load_metadata(path) == {}
    path.write_text(dump_metadata({"a": {"status": "found", "eprint": "1"}}), encoding="utf-8")
    assert load_metadata(path) == {"a": {"status": "found", "eprint": "1"}}
    path.write_text('{"version": 1, "papers": {', encoding="utf-8")
    with pytest.raises(SurveyError) as err:
        load_metadata(path)
    assert str(path) in str(err.value)
    path.write_text('{"version": 1, "papers": {"a": {"status": "maybe"}}}', encoding="utf-8")
    with pytest.raises(SurveyError, match="maybe"):
        load_metadata(path)


def test_client_raises_fetch_error_not_offline_for_http_errors(api):
    api.route(T_HIT, (404, "no", False))
    with pytest.raises(FetchError, match="HTTP 404"):
        ArxivClient(base_url=api.url, delay=0, timeout=5).search_title(T_HIT)


# --- the cache feeds `survey bib` ----------------------------------------------------------

def bib_entries(path: Path) -> dict:
    import bibtexparser

    return {e.key: {f.key: f.value for f in e.fields} for e in bibtexparser.parse_string(
        path.read_text(encoding="utf-8")).entries}


def test_survey_bib_uses_the_cache_and_hand_edits_still_win(tmp_path, api, capsys):
    toml = write_project(tmp_path, api.url, [T_HIT, T_NEAR])
    (tmp_path / "bib").mkdir()
    assert main(["bib", "--config", str(toml)]) == 0  # before enrichment: no authors
    bib = tmp_path / "bib" / "survey.bib"
    before = bib_entries(bib)
    assert not any("author" in fields for fields in before.values())

    assert main(["enrich", "--config", str(toml), "--no-progress"]) == 0
    api.requests.clear()
    assert main(["bib", "--config", str(toml)]) == 0
    assert api.requests == []  # `survey bib` never touches the network
    after = bib_entries(bib)
    hit = next(f for f in after.values() if "Visual Instruction Tuning" in f["title"])
    near = next(f for f in after.values() if "Registers" in f["title"])
    assert "Haotian Liu and Chunyuan Li and Qingyang Wu and Yong Jae Lee" in hit["author"]
    assert "2023" in hit["year"] and "2304.08485" in hit["eprint"]
    assert "arXiv" in hit["archivePrefix"] and "cs.CV" in hit["primaryClass"]
    assert not {"author", "eprint", "year"} & set(near)  # the rejected near miss stays bare

    # the author corrects the year by hand; the next `survey bib` keeps it over the cache
    text = bib.read_text(encoding="utf-8")
    assert text.count("2023") >= 1
    bib.write_text(text.replace("{2023}", "{2024}", 1), encoding="utf-8")
    assert main(["bib", "--config", str(toml)]) == 0
    hit = next(f for f in bib_entries(bib).values() if "Visual Instruction Tuning" in f["title"])
    assert "2024" in hit["year"] and "Haotian Liu" in hit["author"]
