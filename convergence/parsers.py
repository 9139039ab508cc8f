"""Parse uploaded results (JSON or JUnit XML) into plain run records.

A malformed file is rejected whole with a message naming the problem (ResultsError);
XML goes through defusedxml, which refuses entity declarations (XXE, billion laughs).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.utils.dateparse import parse_datetime

MAX_BYTES = 2 * 1024 * 1024
MAX_RUNS = 500
OUTCOMES = {"passed", "failed", "error", "skipped"}
RUN_FIELDS = {"tfmot_sha", "tf_version", "python_version", "log_url", "started_at", "external_id"}


class ResultsError(ValueError):
    """The file cannot be ingested; the message says why, for the uploader."""


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


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ResultsError(f"{where}: '{str(value)[:40]}' is not a number.") from None
    if not math.isfinite(number):
        raise ResultsError(f"{where}: the value must be a finite number.")
    return number


def _when(value: object, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise ResultsError(f"{where}: '{str(value)[:40]}' is not an ISO 8601 date and time.")
    return parsed


def _sha(value: object, where: str) -> str:
    sha = str(value or "").strip().lower()
    if sha and (len(sha) < 7 or len(sha) > 40 or any(c not in "0123456789abcdef" for c in sha)):
        raise ResultsError(f"{where}: '{sha[:45]}' is not a git commit SHA.")
    return sha


def _check_size(data: bytes) -> None:
    if len(data) > MAX_BYTES:
        raise ResultsError(f"The file is {len(data)} bytes; the limit is {MAX_BYTES} bytes.")
    if not data.strip():
        raise ResultsError("The file is empty.")


def parse_json(data: bytes) -> list[RunRecord]:
    """{"tfmot_sha", "tf_version", "started_at", "runs": [{"test", "outcome", "metrics", ...}]}"""
    _check_size(data)
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"Not valid JSON: {error}.") from None
    if not isinstance(document, dict) or not isinstance(document.get("runs"), list):
        raise ResultsError('Expected a JSON object with a "runs" list.')
    if not document["runs"]:
        raise ResultsError('The "runs" list is empty.')
    if len(document["runs"]) > MAX_RUNS:
        raise ResultsError(f"At most {MAX_RUNS} runs per upload.")
    defaults = {key: document.get(key) for key in RUN_FIELDS}
    records = []
    for index, run in enumerate(document["runs"]):
        where = f"runs[{index}]"
        if not isinstance(run, dict):
            raise ResultsError(f"{where}: expected an object.")
        test = str(run.get("test") or "").strip()
        if not test:
            raise ResultsError(f'{where}: "test" is required.')
        outcome = str(run.get("outcome") or "").lower()
        if outcome not in OUTCOMES:
            raise ResultsError(f'{where}: "outcome" must be one of {", ".join(sorted(OUTCOMES))}.')
        metrics = run.get("metrics") or {}
        if not isinstance(metrics, dict):
            raise ResultsError(f'{where}: "metrics" must be an object of numbers.')
        values = {**defaults, **{k: run[k] for k in RUN_FIELDS if k in run}}
        records.append(
            RunRecord(
                test=test[:200],
                outcome=outcome,
                metrics={
                    str(k)[:80]: _number(v, f"{where}.metrics.{k}") for k, v in metrics.items()
                },
                started_at=_when(values["started_at"], f"{where}.started_at"),
                tfmot_sha=_sha(values["tfmot_sha"], f"{where}.tfmot_sha"),
                tf_version=str(values["tf_version"] or "")[:60],
                python_version=str(values["python_version"] or "")[:20],
                log_url=str(values["log_url"] or "")[:500],
                external_id=str(values["external_id"] or "")[:150],
            )
        )
    return records


def _properties(element: Element) -> dict[str, str]:
    props = element.find("properties")
    if props is None:
        return {}
    return {
        p.get("name", ""): p.get("value", "") for p in props.findall("property") if p.get("name")
    }


def parse_junit(data: bytes) -> list[RunRecord]:
    """JUnit XML: each <testcase> is a run of the test named by its classname.name.

    <failure> → failed, <error> → error, <skipped> → skipped, else passed. Numeric
    <property> values of the testcase (or its suites) are metrics; the properties
    tfmot_sha, tf_version, python_version, log_url and started_at describe the run.
    Nested <testsuite> elements are walked, inner properties override outer ones.
    """
    _check_size(data)
    try:
        root = ElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise ResultsError(
            "The XML declares a DTD or entities, which are refused (XXE, entity expansion)."
        ) from None
    except ElementTree.ParseError as error:
        raise ResultsError(f"Not well-formed XML: {error}.") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise ResultsError(
            f"Expected <testsuites> or <testsuite> at the top, found <{root.tag[:40]}>."
        )
    records: list[RunRecord] = []

    def walk(suite: Element, inherited: dict[str, str]) -> None:
        props = {**inherited, **_properties(suite)}
        if suite.get("timestamp") and "started_at" not in _properties(suite):
            props["started_at"] = suite.get("timestamp", "")  # inner suites inherit it
        for case in suite.findall("testcase"):
            walk_case(case, props)
        for child in suite.findall("testsuite"):
            walk(child, props)

    def walk_case(case: Element, inherited: dict[str, str]) -> None:
        name = case.get("name", "").strip()
        if not name:
            raise ResultsError("A <testcase> has no name.")
        classname = case.get("classname", "").strip()
        test = f"{classname}/{name}" if classname else name
        if case.find("failure") is not None:
            outcome = "failed"
        elif case.find("error") is not None:
            outcome = "error"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        else:
            outcome = "passed"
        props = {**inherited, **_properties(case)}
        metrics = {}
        for key, value in props.items():
            if key in RUN_FIELDS:
                continue
            try:
                metrics[key[:80]] = _number(value, f"testcase {test} property {key}")
            except ResultsError:
                continue  # non-numeric properties are descriptions, not metrics
        if case.get("time"):
            metrics.setdefault(
                "duration_seconds", _number(case.get("time"), f"testcase {test} time")
            )
        records.append(
            RunRecord(
                test=test[:200],
                outcome=outcome,
                metrics=metrics,
                started_at=_when(props.get("started_at"), f"testcase {test} timestamp"),
                tfmot_sha=_sha(props.get("tfmot_sha"), f"testcase {test} tfmot_sha"),
                tf_version=props.get("tf_version", "")[:60],
                python_version=props.get("python_version", "")[:20],
                log_url=props.get("log_url", "")[:500],
                external_id=props.get("external_id", "")[:150],
            )
        )
        if len(records) > MAX_RUNS:
            raise ResultsError(f"At most {MAX_RUNS} test cases per upload.")

    walk(root, {})
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
