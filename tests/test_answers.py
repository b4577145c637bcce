"""The same answers before and after (issue 23): a change to how the graph is shaped (fewer
triples per record) must not change any answer the library gives.

``tests/data/answers/`` holds, per real archive, the questions users ask (specimen and person
pages, stats, canned queries, networks, infer, validate, the DwC-DP and SSSOM exports,
reconciliation) and the library's answers, recorded by ``.ci/tools/answers.py`` on the tree its
README names. Each test loads the archive into a fresh on-disk store with the tree under test,
asks the same questions and requires the same answers; a difference is listed by question and
node with both values.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import REAL_ARCHIVES

ROOT = Path(__file__).resolve().parent.parent
# the recorder is a developer tool outside the wheel (.ci/tools/, like the ontology's generators)
sys.path.insert(0, str(ROOT / ".ci" / "tools"))
import answers  # noqa: E402

#: differences listed in full per archive (the rest are counted per question)
SHOWN = 25
#: differences listed per question (its first two levels: ``specimens / IRI``, ``dwcdp / tables``)
PER_QUESTION = 3


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 200 else text[:200] + f"... ({len(text):,} chars)"


def differences(before: Any, after: Any, path: str = "") -> list[tuple[str, str]]:
    """(where, what) for each difference between two normalised answers: a key only on one
    side, a value changed, list members only on one side (lists are sorted, so compared as
    collections)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[tuple[str, str]] = []
        for key in sorted(set(before) | set(after)):
            where = f"{path} / {key}" if path else key
            if key not in after:
                found.append((where, f"recorded {_show(before[key])}, now missing"))
            elif key not in before:
                found.append((where, f"not recorded, now {_show(after[key])}"))
            else:
                found += differences(before[key], after[key], where)
        return found
    if isinstance(before, list) and isinstance(after, list):
        if before == after:
            return []
        if len(before) == len(after) and all(
            isinstance(a, dict) and isinstance(b, dict) for a, b in zip(before, after, strict=True)
        ):  # the same rows with a value changed: say which field of which row
            paired = [
                d
                for i, (a, b) in enumerate(zip(before, after, strict=True))
                for d in differences(a, b, f"{path}[{i}]")
            ]
            if len(paired) <= 3 * max(1, len(before)):
                return paired
        was = {json.dumps(v, sort_keys=True, ensure_ascii=False): v for v in before}
        now = {json.dumps(v, sort_keys=True, ensure_ascii=False): v for v in after}
        gone = [was[k] for k in was if k not in now]
        new = [now[k] for k in now if k not in was]
        out = [(path, f"recorded {_show(v)} is gone") for v in gone[:5]]
        out += [(path, f"now also {_show(v)}") for v in new[:5]]
        if len(gone) + len(new) > len(out) or not out:
            out.append((path, f"{len(gone)} gone, {len(new)} new of {len(before)} recorded"))
        return out
    if before != after:
        return [(path, f"recorded {_show(before)}, now {_show(after)}")]
    return []


def explain(archive: str, found: list[tuple[str, str]]) -> str:
    """The first differences in full, then how many there are per question."""
    per: dict[str, int] = {}
    for where, _ in found:
        question = where.split(" / ")[0]
        per[question] = per.get(question, 0) + 1
    lines = [f"{archive}: {len(found)} answers differ from tests/data/answers/ (README.md there)"]
    told: dict[str, int] = {}
    for where, what in found:  # a few of each question first, not 25 rows of one table
        question = " / ".join(where.split(" / ")[:2])
        told[question] = told.get(question, 0) + 1
        if told[question] <= PER_QUESTION and len(lines) <= SHOWN:
            lines.append(f"  {where}: {what}")
    if len(found) > len(lines) - 1:
        lines.append(f"  ... and {len(found) - len(lines) + 1} more; per question:")
        lines += [f"    {q}: {n}" for q, n in sorted(per.items(), key=lambda x: -x[1])]
    return "\n".join(lines)


def test_every_archive_has_its_answers() -> None:
    missing = [n for n in REAL_ARCHIVES if not answers.file_for(n).is_file()]
    assert not missing, f"no recorded answers for {missing}: run .ci/tools/answers.py --only NAME"
    assert answers.ARCHIVES == REAL_ARCHIVES


@pytest.mark.parametrize("name", REAL_ARCHIVES)
def test_the_same_questions_get_the_same_answers(name: str) -> None:
    recorded = answers.load(answers.file_for(name))
    assert recorded["archive"] == name
    questions = recorded["questions"]
    assert questions["specimens"] and questions["queries"], "nothing was asked"
    now = answers.record_one(name, questions)
    found = differences(recorded["answers"], now["answers"])
    assert not found, explain(name, found)


def test_a_difference_is_told_by_question_and_node() -> None:
    """The report names the archive, the question, the node and both values."""
    name = REAL_ARCHIVES[0]
    recorded = answers.load(answers.file_for(name))["answers"]
    changed = json.loads(json.dumps(recorded))
    specimen = sorted(changed["specimens"])[0]
    changed["specimens"][specimen]["event"]["locality"] = "nowhere"
    changed["stats"]["specimens"] += 1
    changed["queries"]["count-by-basis"].pop()
    found = differences(recorded, changed)
    text = explain(name, found)
    assert len(found) == 3, text
    assert f"specimens / {specimen} / event / locality: recorded " in text
    assert 'now "nowhere"' in text
    assert "stats / specimens: recorded" in text
    assert "queries / count-by-basis: recorded" in text and "is gone" in text
    assert text.startswith(name)
