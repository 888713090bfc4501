"""The results model: Result -> parts -> checks. Every reporter reads only this.

The JSON form (`Result.to_dict`) is a versioned public format, `dlgrade.result/1`, described by
`grader/schemas/result.schema.json` and in docs/results.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

SCHEMA = "dlgrade.result/1"


class Status(str, Enum):
    PASS = "pass"  # the check holds
    FAIL = "fail"  # the student's answer is wrong or missing
    ERROR = "error"  # the student's code raised, or the sandbox stopped it
    NEEDS_REVIEW = "needs-review"  # the grader is not sure: a person should look
    GRADER_ERROR = "grader-error"  # dlgrade itself failed to check this: not the student's fault

    def __str__(self) -> str:
        return self.value


@dataclass
class CheckResult:
    name: str
    status: Status
    score: float
    max_score: float
    message: str = ""
    expected: Any = None
    got: Any = None
    hint: str = ""
    hidden: bool = False  # hidden checks show pass/fail and points only
    kind: str = "check"  # "check", or "legacy-api" for old-API findings (reported apart)
    message_key: str = ""  # catalogue key of the message, for translation
    message_args: dict = field(default_factory=dict)
    hints: dict = field(default_factory=dict)  # the hint per language, when written in several

    def to_dict(self) -> dict:
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass
class PartResult:
    id: str
    title: str
    score: float
    max_score: float
    checks: list[CheckResult] = field(default_factory=list)
    notebook: str = ""
    timings: dict = field(default_factory=dict)  # seconds: e.g. {"cells": 3.2}
    peak_memory_bytes: int | None = None
    curves: dict = field(default_factory=dict)  # name -> list of floats (loss / accuracy)
    stopped: str = ""  # plain words when the sandbox stopped this part
    titles: dict = field(default_factory=dict)  # the title per language, when written in several

    @classmethod
    def from_checks(cls, id: str, title: str, checks: list[CheckResult], **kw) -> PartResult:
        return cls(
            id=id,
            title=title,
            score=round(sum(c.score for c in checks), 6),
            max_score=round(sum(c.max_score for c in checks), 6),
            checks=checks,
            **kw,
        )

    @classmethod
    def from_dict(cls, data: dict) -> PartResult:
        checks = [CheckResult(**{**c, "status": Status(c["status"])}) for c in data["checks"]]
        fields = {k: v for k, v in data.items() if k not in ("checks", "status")}
        return cls(checks=checks, **fields)

    @property
    def status(self) -> Status:
        statuses = {c.status for c in self.checks if c.kind == "check"}
        for s in (Status.GRADER_ERROR, Status.ERROR, Status.FAIL, Status.NEEDS_REVIEW):
            if s in statuses:
                return s
        return Status.PASS

    def to_dict(self) -> dict:
        data = asdict(self)
        data["checks"] = [c.to_dict() for c in self.checks]
        data["status"] = self.status.value
        return data


@dataclass
class Result:
    submission: str
    assignment: str
    parts: list[PartResult] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    resources: dict = field(default_factory=dict)  # wall_s, cpu_s, peak_memory_bytes
    sandbox: dict = field(default_factory=dict)  # name, isolated, limits, caveats
    problems: list[dict] = field(default_factory=list)  # {"kind", "message"}: env / grader faults
    notebooks: list[dict] = field(default_factory=list)  # per notebook: name, status, file paths
    plots: list[dict] = field(default_factory=list)  # student's own figures: {"notebook", "cell", "path"}
    metrics: dict = field(default_factory=dict)  # calibrated metrics measured: name -> value
    lang: str = "en"

    @property
    def score(self) -> float:
        return round(sum(p.score for p in self.parts), 6)

    @property
    def max_score(self) -> float:
        return round(sum(p.max_score for p in self.parts), 6)

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "submission": self.submission,
            "assignment": self.assignment,
            "score": self.score,
            "max_score": self.max_score,
            "parts": [p.to_dict() for p in self.parts],
            "timings": self.timings,
            "resources": self.resources,
            "sandbox": self.sandbox,
            "problems": self.problems,
            "notebooks": self.notebooks,
            "plots": self.plots,
            "metrics": self.metrics,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Result:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document: schema={data.get('schema')!r}")
        parts = [PartResult.from_dict(p) for p in data["parts"]]
        keep = ("timings", "resources", "sandbox", "problems", "notebooks", "plots", "metrics")
        return cls(
            submission=data["submission"],
            assignment=data["assignment"],
            parts=parts,
            **{k: data.get(k) or ({} if k in ("timings", "resources", "sandbox", "metrics") else []) for k in keep},
        )
