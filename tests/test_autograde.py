"""The bad class graded end to end: nothing stops the batch, nothing is lost.

One run grades ``tests/data/badclass`` (one submission per kind of bad
input, beside an honest one) in two goes: the first is killed after a few
students, the second resumes.  The rows must match the golden CSVs, which
an uninterrupted run wrote (``pytest --update-golden`` rewrites them).
"""

import csv
import filecmp
import html
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests import classroom

pytestmark = [pytest.mark.slow]

GOLDEN = classroom.REPO / "tests" / "data" / "golden"
CELL_TIMEOUT = "10"


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("DEPLOY_BOT_LAB_DIR", None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    return env


def _command(submissions, out, *extra):
    return [
        sys.executable,
        "-m",
        "grader",
        "grade",
        str(submissions),
        "--out",
        str(out),
        "--cell-timeout",
        CELL_TIMEOUT,
        *extra,
    ]


def _run(submissions, out, *extra):
    return subprocess.run(
        _command(submissions, out, *extra),
        cwd=classroom.REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )


def _interrupted_run(submissions, out, after):
    """Start a run and kill it, with its process group, once ``after`` are done."""
    process = subprocess.Popen(
        _command(submissions, out),
        cwd=classroom.REPO,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    results = Path(out) / "results"
    while process.poll() is None and len(list(results.glob("*.json"))) < after:
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return len(list(results.glob("*.json")))


@pytest.fixture(scope="module")
def bad_graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("badclass")
    killed_after = _interrupted_run(classroom.BAD_CLASS_DIR, out, after=6)
    done = _run(classroom.BAD_CLASS_DIR, out)
    return out, done, killed_after


def _rows(path):
    with open(path, newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def test_committed_bad_class_is_what_the_builder_makes(tmp_path, request):
    if request.config.getoption("--update-golden"):
        classroom.build_bad_class()
    classroom.build_bad_class(tmp_path)
    for student in classroom.BAD_STUDENTS:
        ours = tmp_path / student / "deploy-bot"
        committed = classroom.BAD_CLASS_DIR / student / "deploy-bot"
        names = sorted(str(p.relative_to(ours)) for p in ours.rglob("*") if p.is_file())
        theirs = sorted(
            str(p.relative_to(committed)) for p in committed.rglob("*") if p.is_file()
        )
        assert names == theirs, student
        _, mismatch, errors = filecmp.cmpfiles(ours, committed, names, shallow=False)
        assert mismatch == errors == [], (
            f"{student}: {mismatch} differ; run pytest --update-golden"
        )


def test_the_batch_completes_with_every_student_accounted_for(bad_graded):
    out, done, _ = bad_graded
    assert done.returncode == 1, done.stderr[-3000:]
    rows = _rows(out / "checkpoints.csv")
    assert set(rows) == set(classroom.BAD_STUDENTS)
    assert set(_rows(out / "grades.csv")) == set(classroom.BAD_STUDENTS)
    assert "graded 21 submissions" in done.stdout
    for student, row in rows.items():
        if float(row["score"]) == 0:
            assert row["notes"] or row["diagnosis"], student
            assert f"zero    {student}:" in done.stdout


@pytest.mark.parametrize("student", list(classroom.BAD_STUDENTS))
def test_each_bad_submission_gets_its_score_and_reason(bad_graded, student):
    out, _, _ = bad_graded
    _, _, _, score, review, phrase = classroom.BAD_STUDENTS[student]
    row = _rows(out / "checkpoints.csv")[student]
    assert float(row["score"]) == score
    assert (row["review"] == "yes") == review, row["notes"]
    assert phrase in row["notes"] + " " + row["diagnosis"]
    graded = _rows(out / "grades.csv")[student]
    assert float(graded["score"]) == score


@pytest.mark.parametrize("tampered", list(classroom.TAMPER_PAIRS))
def test_tampering_scores_what_the_honest_work_earns(bad_graded, tampered):
    out, _, _ = bad_graded
    rows = _rows(out / "checkpoints.csv")
    honest = rows[classroom.TAMPER_PAIRS[tampered]]
    ids = [c["id"] for c in _checkpoint_ids()]
    assert [rows[tampered][i] for i in ids] == [honest[i] for i in ids]


def _checkpoint_ids():
    task = json.loads((classroom.SOLUTIONS / "task.json").read_text())
    return task["checkpoints"]


def test_a_rerun_resumes_and_gives_the_uninterrupted_grades(bad_graded, request):
    out, done, killed_after = bad_graded
    assert 0 < killed_after < len(classroom.BAD_STUDENTS)
    assert f"({killed_after} from an earlier run)" in done.stdout
    for name in ("checkpoints.csv", "grades.csv"):
        golden = GOLDEN / f"badclass-{name}"
        if request.config.getoption("--update-golden"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text((out / name).read_text())
        assert (out / name).read_text() == golden.read_text(), (
            f"{name} differs from {golden}; if the change is intended, "
            "run pytest --update-golden"
        )


def _reference_fragments():
    book = json.loads((classroom.SOLUTIONS / "02-write-policy.ipynb").read_text())
    solution = next(
        "".join(c["source"])
        for c in book["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "policy"
    )
    lines = [
        line.strip().rstrip(",")
        for line in solution.splitlines()
        if '"Sid"' in line or "arn:" in line
    ]
    body = solution.partition("\n")[2]
    return [body, *lines]


def test_feedback_shows_no_reference_policy_test_source_or_traceback(bad_graded):
    out, _, _ = bad_graded
    pages = sorted((out / "feedback").glob("*/*.html"))
    assert len(pages) == 6 * len(classroom.BAD_STUDENTS)
    fragments = _reference_fragments()
    for page in pages:
        text = page.read_text()
        for fragment in fragments:
            assert fragment not in text and html.escape(fragment) not in text, page
        assert "check(" not in text and "check(&quot;" not in text, page
        assert "Traceback" not in text and "site-packages" not in text, page
        assert str(classroom.REPO) not in text, page


def test_feedback_teaches_each_failed_checkpoint(bad_graded):
    out, _, _ = bad_graded
    text = (out / "feedback" / "honestpartial" / "02-write-policy.html").read_text()
    assert "object_actions_on_bucket_arn" in text
    assert "What to change" in text
    assert "is needed by the deploy but not allowed" in text


def test_a_submission_past_its_time_limit_is_stopped_and_flagged(tmp_path):
    one = tmp_path / "in" / "infiniteloop"
    one.parent.mkdir()
    os.symlink(classroom.BAD_CLASS_DIR / "infiniteloop", one)
    done = subprocess.run(
        [*_command(tmp_path / "in", tmp_path / "out"), "--submission-timeout", "6"],
        cwd=classroom.REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    row = _rows(tmp_path / "out" / "checkpoints.csv")["infiniteloop"]
    assert "stopped after 6 s" in row["notes"], done.stderr[-2000:]
    assert row["review"] == "yes"


def test_an_lms_download_is_collected_with_zip_collect(tmp_path):
    uploads = tmp_path / "download"
    uploads.mkdir()
    policy = classroom.BAD_CLASS_DIR / "honestpartial" / "deploy-bot"
    (uploads / "alice_02-write-policy.ipynb").write_bytes(
        (policy / "02-write-policy.ipynb").read_bytes()
    )
    complete = classroom.BAD_CLASS_DIR / "duplicatetest" / "deploy-bot"
    with zipfile.ZipFile(uploads / "bob_deploy-bot.zip", "w") as bundle:
        bundle.write(complete / "02-write-policy.ipynb", "work/02-write-policy.ipynb")
    done = _run(uploads, tmp_path / "out")
    rows = _rows(tmp_path / "out" / "checkpoints.csv")
    assert {s: float(r["score"]) for s, r in rows.items()} == {"alice": 3, "bob": 5}, (
        done.stderr[-2000:]
    )


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["no-such-folder"], "is not a folder of submissions"),
        ([".", "--source", "no-such-source"], "no assignment source"),
    ],
    ids=["missing-submissions", "missing-source"],
)
def test_a_setup_error_exits_2_and_names_the_fix(tmp_path, arguments, message):
    done = subprocess.run(
        [sys.executable, "-m", "grader", "grade", *arguments, "--out", str(tmp_path)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("Error: ") and message in done.stderr
