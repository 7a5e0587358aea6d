"""JUnit XML report for CI test views (GitLab, Jenkins, Azure DevOps).

One <testsuite> per file with problems and one failing <testcase> per problem;
a clean run is a single passing testcase, so the CI view is never empty. As in
ESLint's JUnit report, the classname is the path without its extension, which
Jenkins splits at the last dot into package and class.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from sot_builder.diagnostics import Diagnostic
from sot_builder.output.text import plural, problem_line

SUITE = "sotb"

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(diagnostics: Sequence[Diagnostic], *, files_checked: int = 0) -> str:
    root = ET.Element("testsuites", name=SUITE)
    if diagnostics:
        for path, diags in by_path(diagnostics).items():
            root.append(file_suite(path, diags))
    else:
        root.append(clean_suite(files_checked))
    total = sum(int(s.get("tests", "0")) for s in root)
    root.set("tests", str(total))
    root.set("failures", str(len(diagnostics)))
    root.set("errors", "0")
    root.set("time", "0")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def by_path(diagnostics: Sequence[Diagnostic]) -> dict[str, list[Diagnostic]]:
    groups: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        groups.setdefault(d.path, []).append(d)
    return groups


def file_suite(path: str, diags: list[Diagnostic]) -> ET.Element:
    suite = suite_element(xml_text(path), tests=len(diags), failures=len(diags))
    for d in diags:
        case = ET.SubElement(
            suite,
            "testcase",
            name=xml_text(case_name(d)),
            classname=xml_text(class_name(d.path)),
            file=xml_text(d.path),
            line=str(d.line),
            time="0",
        )
        failure = ET.SubElement(
            case,
            "failure",
            message=xml_text(d.message + (f" (fix: {d.fix})" if d.fix else "")),
            type=xml_text(d.code),
        )
        failure.text = xml_text(problem_line(d))
    return suite


def class_name(path: str) -> str:
    folder, _, base = path.rpartition("/")
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    return f"{folder}/{stem}" if folder else stem


def case_name(diag: Diagnostic) -> str:
    name = f"{diag.code} {diag.name}" if diag.name else diag.code
    return f"{name} at line {diag.line}, column {diag.column}"


def clean_suite(files_checked: int) -> ET.Element:
    suite = suite_element(SUITE, tests=1, failures=0)
    ET.SubElement(
        suite,
        "testcase",
        name=f"All checks passed ({plural(files_checked, 'file')})",
        classname=SUITE,
        time="0",
    )
    return suite


def suite_element(name: str, *, tests: int, failures: int) -> ET.Element:
    return ET.Element(
        "testsuite",
        name=name,
        tests=str(tests),
        failures=str(failures),
        errors="0",
        skipped="0",
        time="0",
    )


def xml_text(value: str) -> str:
    """Replace characters XML cannot hold with a visible escape; ET escapes the rest."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
