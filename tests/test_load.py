"""Bad input gives one clear error per problem, naming file, line, record and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence.cli import main
from evidence.curation.load import DataInvalid, load_dataset, parse_yaml, validate
from tests.conftest import edit


def errors_of(directory: Path) -> list[str]:
    dataset, errors = validate(directory)
    assert dataset is None
    return [str(e) for e in errors]


def test_fixture_is_valid(minimal: Path):
    dataset = load_dataset(minimal)
    assert [s.id for s in dataset.studies] == ["alpha2001_test"]
    assert dataset.claim("fast_relief").verdict == "Partly supported"
    assert len(dataset.version) == 12


def test_malformed_yaml_names_file_and_line(minimal: Path):
    edit(minimal / "studies.yaml", "  kind: trial\n", "  kind: [trial\n")
    (err,) = errors_of(minimal)
    assert err.startswith("data/studies.yaml:")
    assert "invalid YAML" in err


def test_duplicate_key_is_refused_with_its_line(minimal: Path):
    edit(minimal / "studies.yaml", "  kind: trial\n", "  kind: trial\n  kind: cohort\n")
    (err,) = errors_of(minimal)
    assert err.startswith("data/studies.yaml:5:")
    assert "duplicate key 'kind'" in err


def test_yes_no_read_as_booleans_are_explained(minimal: Path):
    edit(minimal / "studies.yaml", 'journal: "Test J"', "journal: NO")
    (err,) = errors_of(minimal)
    assert "alpha2001_test citation.journal" in err
    assert "boolean false" in err and "quote it" in err


def test_wrong_type(minimal: Path):
    edit(minimal / "studies.yaml", "year: 2001", "year: two thousand")
    (err,) = errors_of(minimal)
    assert "data/studies.yaml:5: alpha2001_test citation.year" in err


def test_unknown_field(minimal: Path):
    edit(minimal / "studies.yaml", "  route: intravenous\n", "  route: intravenous\n  roote: oral\n")
    (err,) = errors_of(minimal)
    assert "data/studies.yaml:11: alpha2001_test roote: unknown field" in err


def test_dangling_references(minimal: Path):
    edit(minimal / "claims.yaml", "study: alpha2001_test, outcomes: [response_24h]",
         "study: alpha2001_test, outcomes: [response_48h]")
    edit(minimal / "claims.yaml", "source: page_a", "source: page_b")
    errs = errors_of(minimal)
    assert any("claims.yaml:12: fast_relief evidence[0].outcomes: study 'alpha2001_test' has no outcome "
               "'response_48h'" in e for e in errs)
    assert any("claims.yaml:6: fast_relief appearances[0].source: unknown source 'page_b'" in e for e in errs)


def test_responders_exceed_n(minimal: Path):
    edit(minimal / "studies.yaml", "{arm: midazolam, events: 3, total: 10}", "{arm: midazolam, events: 13, total: 10}")
    (err,) = errors_of(minimal)
    assert "alpha2001_test outcomes[0].results[1]: events (13) exceed total (10)" in err


def test_negative_time(minimal: Path):
    edit(minimal / "studies.yaml", "value: 24, unit: hours", "value: -24, unit: hours")
    (err,) = errors_of(minimal)
    assert "alpha2001_test outcomes[0].timepoint.value: Input should be greater than 0" in err


def test_arm_totals_must_add_up(minimal: Path):
    edit(minimal / "studies.yaml", "n_randomized: 30,", "n_randomized: 31,")
    (err,) = errors_of(minimal)
    assert "arms' n_randomized add up to 30, not the study's 31" in err


def test_ci_must_contain_estimate(minimal: Path):
    edit(minimal / "studies.yaml", "estimate: 3.5", "estimate: 13.5")
    (err,) = errors_of(minimal)
    assert "estimate 13.5 lies outside its CI [1.2, 9.8]" in err


def test_duplicate_ids(minimal: Path):
    text = (minimal / "sources.yaml").read_text()
    (minimal / "sources.yaml").write_text(text + text.split("sources:\n", 1)[1])
    (err,) = errors_of(minimal)
    assert "data/sources.yaml:7: page_a id: duplicate id" in err


def test_object_constructing_tag_is_refused(minimal: Path):
    edit(minimal / "sources.yaml", 'title: "A page"', "title: !!python/object/apply:os.system ['echo pwned']")
    (err,) = errors_of(minimal)
    assert "data/sources.yaml:4" in err and "not allowed" in err


def test_every_error_is_listed_in_one_run(minimal: Path, capsys):
    edit(minimal / "studies.yaml", "year: 2001", "year: soon")
    edit(minimal / "studies.yaml", "{arm: midazolam, events: 3, total: 10}", "{arm: midazolam, events: 13, total: 10}")
    edit(minimal / "sources.yaml", "kind: clinic marketing", "kind: advert")
    edit(minimal / "claims.yaml", "verdict: Partly supported\n", "verdict: Mostly true\n")
    assert main(["--data", str(minimal), "validate"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4, out
    assert {line.split(":")[0] for line in out} == {"data/studies.yaml", "data/sources.yaml", "data/claims.yaml"}


def test_load_dataset_raises_with_all_errors(minimal: Path):
    edit(minimal / "studies.yaml", "year: 2001", "year: soon")
    with pytest.raises(DataInvalid) as info:
        load_dataset(minimal)
    assert len(info.value.errors) == 1


def test_missing_file(minimal: Path):
    (minimal / "claims.yaml").unlink()
    assert any("claims.yaml: file not found" in e for e in errors_of(minimal))


def test_cache_follows_content(minimal: Path):
    first = load_dataset(minimal)
    assert load_dataset(minimal) is first
    edit(minimal / "sources.yaml", 'title: "A page"', 'title: "Another page"')
    second = load_dataset(minimal)
    assert second.version != first.version
    assert second.source("page_a").title == "Another page"


def test_parse_yaml_line_map():
    data, lines = parse_yaml("a:\n  b: 1\n  c:\n  - x\n  - y\n")
    assert data == {"a": {"b": 1, "c": ["x", "y"]}}
    assert lines[("a", "c", 1)] == 5


def test_cli_summary_line(minimal: Path, capsys):
    assert main(["--data", str(minimal), "validate", "--provenance"]) == 0
    assert capsys.readouterr().out.startswith("valid: 1 studies, 1 claims, 1 sources, 13 figures")


def test_env_var_chooses_data_dir(minimal: Path, monkeypatch, capsys):
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(minimal))
    assert main(["validate"]) == 0
    assert "1 studies" in capsys.readouterr().out


def test_missing_data_dir_is_a_user_error(tmp_path: Path, capsys):
    assert main(["--data", str(tmp_path / "nope"), "validate"]) == 2
    assert "data directory not found" in capsys.readouterr().err


@pytest.mark.parametrize(("written", "read_as"), [("02001", "1025"), ("0x7d1", "2001"), ("33:21", "2001"),
                                                  ("2_001", "2001")])
def test_numbers_yaml_reads_otherwise_than_written_are_refused(minimal: Path, written, read_as):
    """YAML 1.1 reads "010" as 8 and "1:28:19" as 5299: such a figure would be stored silently changed."""
    edit(minimal / "studies.yaml", "year: 2001", f"year: {written}")
    (err,) = errors_of(minimal)
    assert err.startswith("data/studies.yaml:5:"), err
    assert f"YAML reads '{written}' as {read_as}, not as written" in err and "plain decimal number" in err


def test_a_number_yaml_reads_as_text_gets_advice_that_fits(minimal: Path):
    edit(minimal / "studies.yaml", "year: 2001", "year: 2e+3")
    (err,) = errors_of(minimal)
    assert "write it without quotes" not in err and "write a plain decimal number" in err


@pytest.mark.parametrize("character", ["\x00", "\x1b"])
def test_a_control_character_is_reported_with_its_line(minimal: Path, character):
    edit(minimal / "studies.yaml", 'journal: "Test J"', f'journal: "Test{character}J"')
    (err,) = errors_of(minimal)
    line = next(n for n, text in enumerate((minimal / "studies.yaml").read_text(encoding="utf-8").splitlines(), 1)
                if "journal:" in text)
    assert err.startswith(f"data/studies.yaml:{line}:") and "unacceptable character" in err, err


@pytest.mark.parametrize("breaks", ["\u2028", "\u2029\u2028", "\x85"])
def test_a_line_is_counted_as_an_editor_counts_it_after_a_unicode_line_separator(minimal: Path, breaks):
    """YAML 1.1 breaks lines at U+2028, U+2029 and NEL; editors do not, so errors had pointed lines too low."""
    edit(minimal / "studies.yaml", 'journal: "Test J"', f'journal: "Test{breaks}J"')
    edit(minimal / "studies.yaml", "population: TRD", "population: nobody")
    (err,) = errors_of(minimal)
    text = (minimal / "studies.yaml").read_text(encoding="utf-8")
    line = next(n for n, row in enumerate(text.split("\n"), 1) if "population: nobody" in row)
    assert err.startswith(f"data/studies.yaml:{line}:"), err


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(2)", "data:text/html,x", "//host/x",
                                 "/relative/page", "https://", "http:///path", "ftp://host/x", "https://a b/",
                                 "https://host:99999/"])
def test_a_url_that_is_not_absolute_http_is_refused_with_its_line(minimal: Path, url):
    """Pages put URLs in href: javascript: would run in the reader's browser, a relative one stays on the site."""
    edit(minimal / "sources.yaml", '  title: "A page"\n', f'  title: "A page"\n  url: "{url}"\n')
    (err,) = errors_of(minimal)
    assert err.startswith("data/sources.yaml:5: page_a url: "), err
    assert "\n" not in err and ("http:// or https://" in err or "no spaces" in err or "well-formed" in err), err


@pytest.mark.parametrize(("file", "old", "new", "where"), [
    ("studies.yaml", '  pmid: "1"\n', '  pmid: "1"\n  url: javascript:alert(4)\n',
     "data/studies.yaml:7: alpha2001_test url"),
    ("studies.yaml", 'quote: "dissociation (17%)"}', 'quote: "dissociation (17%)", secondary: true, url: "data:,x"}',
     "alpha2001_test adverse_events[0].source.url"),
])
def test_every_url_field_must_be_absolute_http(minimal: Path, file, old, new, where):
    edit(minimal / file, old, new)
    (err,) = errors_of(minimal)
    assert where in err and "http:// or https://" in err, err


@pytest.mark.parametrize("url", ["https://pmc.ncbi.nlm.nih.gov/articles/PMC1/table/T4",
                                 "HTTP://47.251.13.51:8081/32861217", "https://en.example.org/wiki/A_(b)?q=%22x%22"])
def test_absolute_http_urls_are_accepted(minimal: Path, url):
    edit(minimal / "sources.yaml", '  title: "A page"\n', f'  title: "A page"\n  url: "{url}"\n')
    assert load_dataset(minimal).sources[0].url == url


# --------------------------------------------------------------------------- sweep of odd data (2026-12-04)

def test_a_number_as_a_top_level_key_is_an_error_line_not_a_traceback(minimal: Path):
    (minimal / "sources.yaml").write_text((minimal / "sources.yaml").read_text() + "1: a\nzz: b\n")
    errs = errors_of(minimal)
    assert errs == ["data/sources.yaml:7: 1: unknown top-level key", "data/sources.yaml:8: zz: unknown top-level key"]


def test_every_inconsistency_in_a_study_is_listed_at_once(minimal: Path):
    edit(minimal / "studies.yaml", "- {arm: ketamine, events: 12,", "- {arm: ketamin, events: 12,")
    edit(minimal / "studies.yaml", "results: [{arm: ketamine, percent: 17}]", "results: [{arm: ketamnie, percent: 17}]")
    edit(minimal / "studies.yaml", "- {measure: time_to_relapse,", "- {arm: nobody, measure: time_to_relapse,")
    (err,) = errors_of(minimal)
    assert "unknown arm 'ketamin'" in err and "unknown arm 'ketamnie'" in err and "unknown arm 'nobody'" in err, err


@pytest.mark.parametrize(("old", "new", "field"), [
    ('  pmid: "1"\n', '  pmid: "1"\n  reanalysis_of: [no_such_study]\n', "alpha2001_test reanalysis_of[0]"),
    ("ci_high: 9.8, p: 0.02}", "ci_high: 9.8, p: 0.02, includes: [no_such_trial]}",
     "alpha2001_test outcomes[0].effect.includes[0]"),
])
def test_a_study_named_by_another_must_exist(minimal: Path, old, new, field):
    """reanalysis_of and includes keep pools from counting participants twice: an unknown id had passed."""
    edit(minimal / "studies.yaml", old, new)
    (err,) = errors_of(minimal)
    line = next(n for n, row in enumerate((minimal / "studies.yaml").read_text().split("\n"), 1)
                if ("reanalysis_of" in row or "includes" in row))
    assert err.startswith(f"data/studies.yaml:{line}: {field}: unknown study 'no_such"), err


def test_a_study_cannot_reanalyse_itself(minimal: Path):
    edit(minimal / "studies.yaml", '  pmid: "1"\n', '  pmid: "1"\n  reanalysis_of: [alpha2001_test]\n')
    (err,) = errors_of(minimal)
    assert "cannot re-analyse itself" in err


def test_a_duplicated_claim_id_does_not_move_the_first_claims_errors(minimal: Path):
    text = (minimal / "claims.yaml").read_text()
    record = text.split("claims:\n", 1)[1]
    (minimal / "claims.yaml").write_text(text.replace("study: alpha2001_test", "study: missing_study") + record)
    errs = errors_of(minimal)
    line = next(n for n, row in enumerate((minimal / "claims.yaml").read_text().split("\n"), 1)
                if "missing_study" in row)
    where = f"data/claims.yaml:{line}: fast_relief evidence[0].study: unknown study"
    assert any(e.startswith(where) for e in errs), errs
    assert any("duplicate id" in e for e in errs), errs


@pytest.mark.parametrize("content", ["", "# only a comment\n", "- a list\n", "just text\n"])
def test_a_badly_shaped_file_is_one_error_not_one_per_reference(minimal: Path, content):
    (minimal / "sources.yaml").write_text(content)
    errs = errors_of(minimal)
    assert len(errs) == 1 and errs[0].startswith("data/sources.yaml:1: sources: the file must be a mapping"), errs


def test_a_long_wrong_value_is_not_echoed_whole(minimal: Path):
    edit(minimal / "studies.yaml", "population: TRD", "population: " + "x" * 100_000)
    (err,) = errors_of(minimal)
    assert len(err) < 400 and "100,002 characters" in err, err[:400]


def test_running_out_of_memory_while_parsing_is_an_error_line(minimal: Path, monkeypatch):
    """Millions of tiny nodes fit under the size limit and not in memory: a MemoryError had been a traceback."""
    from evidence.curation import load as load_module

    def exhausted(raw, directory):
        raise MemoryError

    monkeypatch.setattr(load_module, "parse_cached", exhausted)
    errs = errors_of(minimal)
    assert errs and all("too large to read in the memory available" in e for e in errs), errs
