"""Parse uploaded results (JSON or JUnit XML) into plain run records.

A malformed file is rejected whole with a message naming the field at fault
(ResultsError); XML goes through defusedxml, which refuses entity declarations (XXE,
billion laughs). Limits are on bytes and nesting depth, not on the number of runs.
JUnit is read the way real CI tools write it (pytest, Maven Surefire, Gradle, Bazel,
Jenkins, go-junit-report): a timestamp that cannot be read means "no time", a test case
without a name gets one, and an error or failure reported on a suite (no test case)
counts as a failing case of that suite, at any nesting depth.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.utils.dateparse import parse_datetime

from tfmot_portal.forms import clean_text

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32  # JSON nesting and <testsuite> nesting
MAX_METRIC = 1e300
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
OUTCOMES = {"passed", "failed", "error", "skipped"}
RUN_FIELDS = {"tfmot_sha", "tf_version", "python_version", "log_url", "started_at", "external_id"}
THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d*)?")  # Surefire's time="1,234.5"
TEXT_LIMITS = {"tf_version": 60, "python_version": 20, "log_url": 500, "external_id": 150}
TEST_LIMIT = 200  # a test's full name, "technique/test"
NAME_LIMIT = 80  # a metric's or a property's name
QUOTE = 40  # how much of a rejected value an error message quotes


class ResultsError(ValueError):
    """The file cannot be ingested; the message says why, for the uploader."""


def _cut(value: object, limit: int = QUOTE) -> str:
    """A rejected value as an error message quotes it: cut to ``limit``, marked when cut."""
    text = str(value)
    return text[:limit] + "…" if len(text) > limit else text


@dataclass
class RunRecord:
    test: str  # "<technique-slug>/<test-name>" or "<test-name>"
    outcome: str
    metrics: dict[str, float] = field(default_factory=dict)
    started_at: datetime | None = None
    tfmot_sha: str = ""
    tf_version: str = ""
    python_version: str = ""
    log_url: str = ""
    external_id: str = ""


# --- values ------------------------------------------------------------------------------


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ResultsError(f"{where}: expected a number.")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ResultsError(f"{where}: '{_cut(value)}' is not a number.") from None
    if not math.isfinite(number) or abs(number) > MAX_METRIC:
        raise ResultsError(f"{where}: the value must be a finite number below 1e300.")
    return number


def _when(value: object, where: str) -> datetime | None:
    """An aware datetime between 2000 and 2100 (naive means UTC), or ResultsError."""
    if value in (None, ""):
        return None
    text = str(value).strip()[:64]
    try:
        parsed = parse_datetime(text)
    except ValueError:  # well-formed but impossible: 2026-02-30, an offset of 25 hours
        parsed = None
    if parsed is None:
        raise ResultsError(f"{where}: '{_cut(text)}' is not a valid ISO 8601 date and time.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR - 1:
        raise ResultsError(f"{where}: the date must be between {EARLIEST_YEAR} and {LATEST_YEAR}.")
    return parsed.astimezone(UTC)


def _when_or_none(value: object) -> datetime | None:
    """JUnit timestamps: whatever cannot be read (or an epoch-zero placeholder) is no time."""
    try:
        return _when(value, "timestamp")
    except ResultsError:
        return None


def _sha(value: object, where: str) -> str:
    sha = clean_text(value).lower()
    if sha and (len(sha) < 7 or len(sha) > 40 or any(c not in "0123456789abcdef" for c in sha)):
        raise ResultsError(f"{where}: '{_cut(sha)}' is not a git commit SHA.")
    return sha


def _url(value: object, where: str) -> str:
    url = clean_text(value)
    if url and (urlsplit(url).scheme not in ("http", "https") or len(url) > 500):
        raise ResultsError(f"{where}: give an http(s) URL of at most 500 characters.")
    return url


def _describe(values: dict[str, Any], where: str, lenient_time: bool = False) -> dict[str, Any]:
    """The run fields of a record (SHA, versions, log URL, start, external id); with
    ``lenient_time`` an unreadable start is no time rather than an error."""
    started = values.get("started_at")
    return {
        "started_at": _when_or_none(started)
        if lenient_time
        else _when(started, f"{where}.started_at"),
        "tfmot_sha": _sha(values.get("tfmot_sha"), f"{where}.tfmot_sha"),
        "log_url": _url(values.get("log_url"), f"{where}.log_url"),
        **{
            key: clean_text(values.get(key))[:limit]
            for key, limit in TEXT_LIMITS.items()
            if key != "log_url"
        },
    }


def _check_size(data: bytes) -> None:
    if len(data) > MAX_BYTES:
        raise ResultsError(f"The file is {len(data)} bytes; the limit is {MAX_BYTES} bytes.")
    if not data.strip():
        raise ResultsError("The file is empty.")


# --- JSON --------------------------------------------------------------------------------


def _depth(document: object) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH and isinstance(value, (dict, list)):
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _refuse_constant(name: str) -> NoReturn:
    raise ResultsError(f"{name} is not a finite number.")


def _load_json(data: bytes) -> Any:
    try:
        return json.loads(
            data,
            parse_int=str,  # numbers stay text until _number: no 5,000-digit int conversion
            parse_float=str,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"Not valid JSON: {error}.") from None
    except RecursionError:
        raise ResultsError(f"The JSON is nested deeper than {MAX_DEPTH} levels.") from None


def _json_run(run: object, defaults: dict[str, Any], where: str) -> RunRecord:
    if not isinstance(run, dict):
        raise ResultsError(f"{where}: expected an object.")
    test = clean_text(run.get("test") if isinstance(run.get("test"), str) else "")
    if not test:
        raise ResultsError(f'{where}.test: "test" is required (text).')
    outcome = clean_text(run.get("outcome")).lower()
    if outcome not in OUTCOMES:
        raise ResultsError(
            f'{where}.outcome: "outcome" must be one of {", ".join(sorted(OUTCOMES))}.'
        )
    metrics = run.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise ResultsError(f'{where}.metrics: "metrics" must be an object of numbers.')
    values = {**defaults, **{k: run[k] for k in RUN_FIELDS if k in run}}
    for key, value in values.items():
        if isinstance(value, (dict, list)):
            raise ResultsError(f"{where}.{key}: expected text.")
    return RunRecord(
        test=test[:TEST_LIMIT],
        outcome=outcome,
        metrics={
            clean_text(k)[:NAME_LIMIT]: _number(v, f"{where}.metrics.{clean_text(k)[:NAME_LIMIT]}")
            for k, v in metrics.items()
        },
        **_describe(values, where),
    )


def parse_json(data: bytes) -> list[RunRecord]:
    """{"tfmot_sha", "tf_version", "started_at", "runs": [{"test", "outcome", "metrics", ...}]}"""
    _check_size(data)
    document = _load_json(data)
    if _depth(document) > MAX_DEPTH:
        raise ResultsError(f"The JSON is nested deeper than {MAX_DEPTH} levels.")
    if not isinstance(document, dict) or not isinstance(document.get("runs"), list):
        raise ResultsError('Expected a JSON object with a "runs" list.')
    if not document["runs"]:
        raise ResultsError('The "runs" list is empty.')
    defaults = {key: document.get(key) for key in RUN_FIELDS}
    return [
        _json_run(run, defaults, f"runs[{index}]") for index, run in enumerate(document["runs"])
    ]


# --- JUnit XML ---------------------------------------------------------------------------


def _properties(element: Element) -> dict[str, str]:
    props = element.find("properties")
    if props is None:
        return {}
    return {
        clean_text(p.get("name"))[:NAME_LIMIT]: clean_text(p.get("value", p.text))
        for p in props.findall("property")
        if clean_text(p.get("name"))
    }


def _load_xml(data: bytes) -> Element:
    try:
        root = ElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise ResultsError(
            "The XML declares a DTD or entities, which are refused (XXE, entity expansion)."
        ) from None
    except ElementTree.ParseError as error:
        raise ResultsError(f"Not well-formed XML: {error}.") from None
    except (LookupError, ValueError) as error:  # unknown encoding in the declaration
        raise ResultsError(
            f"The XML declaration is not usable: {_cut(error, 2 * QUOTE)}."
        ) from None
    if root.tag not in ("testsuites", "testsuite"):
        raise ResultsError(
            f"Expected <testsuites> or <testsuite> at the top, found <{_cut(root.tag)}>."
        )
    return root


def _suite_props(suite: Element, inherited: dict[str, str]) -> dict[str, str]:
    """A suite's properties over its parents'; its timestamp, when readable, is the start."""
    own = _properties(suite)
    props = {**inherited, **own}
    if "started_at" not in own and _when_or_none(suite.get("timestamp")):
        props["started_at"] = suite.get("timestamp", "")
    return props


def _outcome(element: Element) -> str:
    for tag, outcome in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        if element.find(tag) is not None:
            return outcome
    return "passed"


def _suite_failure(suite: Element) -> str:
    """ "failed"/"error" when the suite itself reports a failure (an element, or a count
    with no test case to carry it), else ""."""
    own = _outcome(suite)
    if own in ("failed", "error"):
        return own
    if suite.find("testcase") is None and suite.find("testsuite") is None:
        for attribute, outcome in (("errors", "error"), ("failures", "failed")):
            if clean_text(suite.get(attribute)) not in ("", "0"):
                return outcome
    return ""


def _duration(value: object) -> float | None:
    """A time attribute in seconds; one that cannot be read (absent, a format of its own)
    means no duration rather than a rejected file."""
    text = clean_text(value)
    try:
        return _number(text.replace(",", "") if THOUSANDS.fullmatch(text) else text, "time")
    except ResultsError:
        return None


def _junit_record(
    test: str, outcome: str, props: dict[str, str], time: str | None = None
) -> RunRecord:
    metrics: dict[str, float] = {}
    for key, value in props.items():
        if key not in RUN_FIELDS:
            try:
                metrics[key] = _number(value, key)
            except ResultsError:
                continue  # non-numeric properties are descriptions, not metrics
    duration = _duration(time)
    if duration is not None:
        metrics.setdefault("duration_seconds", duration)
    described = _describe(props, f"testcase {test[:NAME_LIMIT]}", lenient_time=True)
    return RunRecord(test=test[:TEST_LIMIT], outcome=outcome, metrics=metrics, **described)


def _case_record(case: Element, position: int, suite_name: str, props: dict[str, str]) -> RunRecord:
    """A test case's run; one without a name is named after its position, under its
    classname or else its suite."""
    name = clean_text(case.get("name"))
    scope = clean_text(case.get("classname")) or ("" if name else suite_name)
    name = name or f"testcase-{position}"
    test = f"{scope}/{name}" if scope else name
    return _junit_record(test, _outcome(case), {**props, **_properties(case)}, case.get("time"))


def parse_junit(data: bytes) -> list[RunRecord]:
    """JUnit XML: each <testcase> is a run of the test named by its classname/name.

    <failure> → failed, <error> → error, <skipped> → skipped, else passed. Numeric
    <property> values of the testcase (or its suites) are metrics; the properties
    tfmot_sha, tf_version, python_version, log_url and started_at describe the run.
    Nested <testsuite> elements are walked (without recursion, up to MAX_DEPTH levels),
    inner properties override outer ones.
    """
    _check_size(data)
    records: list[RunRecord] = []
    stack: list[tuple[Element, dict[str, str], int]] = [(_load_xml(data), {}, 1)]
    while stack:
        suite, inherited, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ResultsError(f"<testsuite> elements are nested deeper than {MAX_DEPTH} levels.")
        props = _suite_props(suite, inherited)
        suite_name = clean_text(suite.get("name")) or f"testsuite-{depth}"
        failure = _suite_failure(suite)
        if failure and suite.tag == "testsuite":
            records.append(_junit_record(suite_name, failure, props, suite.get("time")))
        for position, case in enumerate(suite.findall("testcase"), start=1):
            records.append(_case_record(case, position, suite_name, props))
        stack.extend((child, props, depth + 1) for child in reversed(suite.findall("testsuite")))
    if not records:
        raise ResultsError("The file holds no <testcase>.")
    return records


def parse_results(data: bytes, content_type: str = "", filename: str = "") -> list[RunRecord]:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in ("application/xml", "text/xml") or filename.endswith(".xml"):
        return parse_junit(data)
    if kind == "application/json" or filename.endswith(".json"):
        return parse_json(data)
    stripped = data.lstrip()[:1]
    if stripped == b"<":
        return parse_junit(data)
    if stripped in (b"{", b"["):
        return parse_json(data)
    raise ResultsError("Send JSON (application/json) or JUnit XML (application/xml).")
