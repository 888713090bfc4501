"""JUnit XML for CI: `<outdir>/junit.xml`, one testsuite per submission, one testcase per check.

Mapping: pass -> passed testcase; fail -> <failure>; error -> <error> (the student's code raised
or the sandbox stopped it); grader-error -> <error type="grader"> (dlgrade failed, not the student);
needs-review -> <skipped> (a person decides, not the build).
Old-API findings are not tests: they go to the suite's <system-out>. A grader or environment
problem becomes an extra testcase `dlgrade` with an <error>, so that it is never silent.

The file validates against Jenkins xUnit's junit-10.xsd (tests/data), which most CI readers
follow: a testcase has no attribute or property of its own for points, so each test's points
are a property of its suite, `points:<classname>.<name>` = "score/max"; times have at most three
decimals; `skipped` is counted per suite only. Test names are unique within their classname
(`names.unique`), so that no reader merges two tests.

Every attribute and text is passed through `text.xml` before it is written: one control
character or lone surrogate in a student's answer would otherwise make the whole file invalid.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from grader.i18n import t
from grader.reporters.names import unique
from grader.reporters.text import xml
from grader.reporters.view import student_view
from grader.results import Result, Status


def _detail(c, lang: str) -> str:
    lines = [c.message]
    if c.expected is not None:
        lines.append(f"{t('report.expected', lang)}: {c.expected}")
    if c.got is not None:
        lines.append(f"{t('report.got', lang)}: {c.got}")
    if c.hint:
        lines.append(f"{t('report.hint', lang)}: {c.hint}")
    return "\n".join(line for line in lines if line)


def _suite(result: Result, lang: str) -> ET.Element:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    suite = ET.Element("testsuite", name=result.submission, time=f"{result.resources.get('wall_s') or 0:.3f}")
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("assignment", result.assignment),
        ("score", result.score),
        ("max_score", result.max_score),
        ("isolated", result.sandbox.get("isolated", True) if result.sandbox else True),
    ):
        ET.SubElement(props, "property", name=name, value=str(value))
    notes = []
    problem_class = f"{result.submission}.dlgrade"
    keys = [(f"{result.submission}.{p.id}", c.name) for p in result.parts for c in p.checks if c.kind == "check"]
    keys += [(problem_class, str(p.get("kind", "problem"))) for p in result.problems]
    names = iter(unique(keys))  # in the order the testcases are written below
    for part in result.parts:
        for c in part.checks:
            if c.kind != "check":
                notes.append(f"{t('report.legacy', lang)}: {c.name}: {c.message} -> {c.hint}")
                continue
            counts["tests"] += 1
            classname = f"{result.submission}.{part.id}"
            case = ET.SubElement(suite, "testcase", classname=classname, name=next(names))
            ET.SubElement(
                props, "property", name=f"points:{classname}.{case.get('name')}", value=f"{c.score:g}/{c.max_score:g}"
            )
            text = t("report.hidden_note", lang) if c.hidden else _detail(c, lang)
            first = (text.splitlines() or [""])[0]
            if c.status == Status.FAIL:
                ET.SubElement(case, "failure", message=first, type="fail").text = text
                counts["failures"] += 1
            elif c.status == Status.ERROR:
                ET.SubElement(case, "error", message=first, type="error").text = text
                counts["errors"] += 1
            elif c.status == Status.GRADER_ERROR:
                ET.SubElement(case, "error", message=first, type="grader").text = text
                counts["errors"] += 1
            elif c.status == Status.NEEDS_REVIEW:
                ET.SubElement(case, "skipped", message=t("status.needs-review", lang) + ": " + first)
                counts["skipped"] += 1
        if part.stopped:
            notes.append(f"{part.title}: {t('report.stopped', lang)}: {part.stopped}")
    for problem in result.problems:
        counts["tests"] += 1
        counts["errors"] += 1
        case = ET.SubElement(suite, "testcase", classname=problem_class, name=next(names))
        message = str(problem.get("message", ""))
        ET.SubElement(case, "error", message=(message.splitlines() or [""])[0], type="grader").text = message
    if notes:
        ET.SubElement(suite, "system-out").text = "\n".join(notes)
    for key, value in counts.items():
        suite.set(key, str(value))
    return suite


def render_class(results: list[Result], lang: str = "en") -> bytes:
    root = ET.Element("testsuites", name="dlgrade")
    totals = {"tests": 0, "failures": 0, "errors": 0}  # junit-10.xsd has no `skipped` here
    for result in results:
        suite = _suite(student_view(result, lang), lang)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    _clean(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _clean(root: ET.Element) -> None:
    """Only characters XML 1.0 allows, everywhere (ElementTree writes whatever it is given)."""
    for element in root.iter():
        element.text = None if element.text is None else xml(element.text)
        element.tail = None if element.tail is None else xml(element.tail)
        for key, value in element.attrib.items():
            element.set(key, xml(value))


def write_class(results: list[Result], outdir: Path, lang: str = "en", pass_mark: float | None = None) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "junit.xml"
    path.write_bytes(render_class(results, lang))
    return path
