"""Results parsing: JUnit XML and JSON edge cases, hostile XML rejected whole."""

import pytest

from convergence.parsers import MAX_BYTES, ResultsError, parse_json, parse_junit, parse_results

JUNIT = b"""<?xml version="1.0"?>
<testsuites>
  <testsuite name="outer" timestamp="2026-11-22T03:00:00Z">
    <properties><property name="tfmot_sha" value="abc1234def"/><property name="tf_version" value="tf-nightly 2.21"/></properties>
    <testsuite name="inner">
      <properties><property name="python_version" value="3.11"/></properties>
      <testcase classname="pruning" name="resnet50" time="3600">
        <properties><property name="top1_accuracy" value="76.7"/><property name="note" value="not a number"/></properties>
      </testcase>
      <testcase classname="qat" name="mobilenet"><failure message="accuracy dropped"/></testcase>
      <testcase classname="qat" name="resnet"><error message="OOM"/></testcase>
      <testcase classname="qat" name="speed"><skipped/></testcase>
    </testsuite>
  </testsuite>
</testsuites>"""


def test_junit_nested_suites_outcomes_and_numeric_properties():
    records = {r.test: r for r in parse_junit(JUNIT)}
    assert [
        records[t].outcome for t in ("pruning/resnet50", "qat/mobilenet", "qat/resnet", "qat/speed")
    ] == [
        "passed",
        "failed",
        "error",
        "skipped",
    ]
    run = records["pruning/resnet50"]
    assert run.metrics == {"top1_accuracy": 76.7, "duration_seconds": 3600.0}
    assert (run.tfmot_sha, run.tf_version, run.python_version) == (
        "abc1234def",
        "tf-nightly 2.21",
        "3.11",
    )
    assert run.started_at.isoformat() == "2026-11-22T03:00:00+00:00"


XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<testsuite><testcase name="a">&x;</testcase></testsuite>"""
LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><testsuite><testcase name="&c;"/></testsuite>"""


@pytest.mark.parametrize("payload", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_hostile_xml_is_refused(payload):
    with pytest.raises(ResultsError, match="DTD or entities"):
        parse_junit(payload)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"<testsuite><testcase name='a'>", "Not well-formed XML"),
        (b"<html/>", "Expected <testsuites> or <testsuite>"),
        (b"<testsuite/>", "no <testcase>"),
        (
            b"<testsuite><properties><property name='tfmot_sha' value='zzz'/></properties><testcase name='a'/></testsuite>",
            "not a git commit SHA",
        ),
    ],
)
def test_malformed_junit_names_the_problem(payload, message):
    with pytest.raises(ResultsError, match=message):
        parse_junit(payload)


def test_an_error_quotes_a_long_rejected_value_cut_and_marked():
    sha = "a" * 41 + "z" * 60
    with pytest.raises(ResultsError) as raised:
        parse_json(
            b'{"runs": [{"test": "a", "outcome": "passed", "tfmot_sha": "%s"}]}' % sha.encode()
        )
    assert f"'{sha[:40]}…' is not a git commit SHA" in str(raised.value)
    with pytest.raises(ResultsError) as raised:
        parse_json(b'{"runs": [{"test": "a", "outcome": "passed", "tfmot_sha": "xyz"}]}')
    assert "'xyz' is not a git commit SHA" in str(raised.value)


def test_json_runs_with_defaults_from_the_top_level():
    records = parse_json(
        b'{"tfmot_sha": "abcdef1", "runs": [{"test": "pruning/resnet50", "outcome": "passed", "metrics": {"top1_accuracy": 76.6}}]}'
    )
    assert records[0].tfmot_sha == "abcdef1" and records[0].metrics == {"top1_accuracy": 76.6}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "Not valid JSON"),
        (b"[]", 'a "runs" list'),
        (b'{"runs": []}', "is empty"),
        (b'{"runs": [{"outcome": "passed"}]}', '"test" is required'),
        (b'{"runs": [{"test": "a", "outcome": "green"}]}', '"outcome" must be one of'),
        (
            b'{"runs": [{"test": "a", "outcome": "passed", "metrics": {"x": "high"}}]}',
            "is not a number",
        ),
        (b'{"runs": [{"test": "a", "outcome": "passed", "metrics": {"x": NaN}}]}', "finite number"),
        (b'{"runs": [{"test": "a", "outcome": "passed", "started_at": "yesterday"}]}', "ISO 8601"),
        (b"   ", "empty"),
    ],
)
def test_malformed_json_names_the_problem(payload, message):
    with pytest.raises(ResultsError, match=message):
        parse_json(payload)


def test_size_limit_and_format_detection():
    with pytest.raises(ResultsError, match="the limit is"):
        parse_results(b"{" + b" " * MAX_BYTES + b"}", "application/json")
    with pytest.raises(ResultsError, match="Send JSON"):
        parse_results(b"hello", "text/plain")
    assert parse_results(JUNIT, "")[0].test == "pruning/resnet50"
