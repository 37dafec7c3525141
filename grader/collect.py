"""Taking in a class's submissions: finding them, and making each one gradable.

Three layouts are read: nbgrader's ``submitted/<student>/<assignment>/``,
``<student>/<assignment>/`` (or ``<student>/`` holding the notebooks), and a
flat folder of uploaded files such as an LMS download
(``<student>_<notebook>.ipynb``, or ``<student>_<anything>.zip`` holding the
notebooks), which nbgrader's own ``zip_collect`` sorts into the first.

Each submission is copied into a staging folder without the files that must
not travel (see ``grader.autograde.IGNORED_FILES``), and made gradable: an
unreadable notebook is set aside, an old nbformat is upgraded, a renamed
notebook gets its release name back.  Every such step is noted, so the
student's row can say what happened.
"""

import logging
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import nbformat

from grader.autograde import IGNORED_FILES, write_course_config

log = logging.getLogger(__name__)

_UPLOAD = re.compile(r"^(?P<student>[A-Za-z0-9][A-Za-z0-9.-]*)_(?P<file>.+)$")
_NAMED_REGEXP = r".*/(?P<student_id>[A-Za-z0-9][A-Za-z0-9.-]*)_(?P<file_id>[^/]+)$"
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class CollectError(Exception):
    """The submissions folder cannot be read as any known layout."""


@dataclass
class Submission:
    """One student's staged submission and what intake did to it."""

    student: str
    folder: Path
    notebooks: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def find_student_folders(submissions_dir, assignment, scratch_dir):
    """Map student id to the folder that holds their notebooks."""
    root = Path(submissions_dir)
    if not root.is_dir():
        raise CollectError(f"{root} is not a folder of submissions")
    if (root / "submitted").is_dir():
        root = root / "submitted"
    folders = [p for p in sorted(root.iterdir()) if p.is_dir()]
    uploads = [p for p in sorted(root.iterdir()) if p.is_file()]
    if not folders and uploads:
        return collect_uploads(root, assignment, scratch_dir)
    if not folders:
        raise CollectError(f"{root} holds no student folders and no uploaded files")
    students = {}
    for entry in folders:
        if not _STUDENT_ID.match(entry.name):
            log.warning("skipping %s: not a student id", entry)
            continue
        nested = entry / assignment
        students[entry.name] = nested if nested.is_dir() else entry
    return students


def collect_uploads(upload_dir, assignment, scratch_dir):
    """Sort a flat LMS download into student folders with ``nbgrader zip_collect``.

    A zip is unpacked first and each member renamed ``<student>_<member>``,
    so that one file-name pattern covers both kinds of upload.
    """
    course = Path(scratch_dir).resolve() / "collect"
    shutil.rmtree(course, ignore_errors=True)
    archive = course / "downloaded" / assignment / "archive"
    archive.mkdir(parents=True)
    write_course_config(course)
    for upload in sorted(Path(upload_dir).iterdir()):
        match = _UPLOAD.match(upload.name)
        if not upload.is_file() or not match:
            log.warning("skipping upload %s: not named <student>_<file>", upload.name)
            continue
        if upload.suffix == ".zip":
            _unpack(upload, match.group("student"), archive)
        else:
            shutil.copy2(upload, archive / upload.name)
    _zip_collect(course, assignment)
    submitted = course / "submitted"
    if not submitted.is_dir():
        raise CollectError(f"no file in {upload_dir} is named <student>_<notebook>")
    return {p.name: p / assignment for p in sorted(submitted.iterdir()) if p.is_dir()}


def _unpack(upload, student, archive):
    try:
        with zipfile.ZipFile(upload) as bundle:
            for member in bundle.infolist():
                name = Path(member.filename).name
                if member.is_dir() or not name or name.startswith("."):
                    continue
                (archive / f"{student}_{name}").write_bytes(bundle.read(member))
    except zipfile.BadZipFile:
        log.warning(
            "%s is not a readable zip; %s gets no files from it", upload, student
        )


def _zip_collect(course, assignment):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "zip_collect",
            assignment,
            f"--FileNameCollectorPlugin.named_regexp={_NAMED_REGEXP}",
            "--force",
        ],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
    )
    (course / "zip_collect.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise CollectError(f"nbgrader zip_collect failed; see {course}/zip_collect.log")


def stage_submission(student, folder, target, release_names):
    """Copy one submission to ``target`` and make it gradable; return it."""
    target = Path(target)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(folder, target, ignore=_ignored)
    submission = Submission(student, target)
    books = {}
    for path in sorted(target.glob("*.ipynb")):
        book = _readable(path, submission.notes)
        if book is not None:
            books[path.name] = book
    _restore_names(books, release_names, target, submission.notes)
    submission.notebooks = sorted(n for n in books if n in release_names)
    missing = [n for n in release_names if n not in books]
    if not books:
        submission.notes.append("no notebook was submitted")
    elif missing:
        submission.notes.append("not submitted: " + ", ".join(missing))
    return submission


def _ignored(directory, names):
    return {n for n in names if any(fnmatch(n, p) for p in IGNORED_FILES)}


def _readable(path, notes):
    try:
        with open(path, encoding="utf-8") as handle:
            original = nbformat.reader.read(handle)
        major = original.get("nbformat", 4)
        book = nbformat.convert(original, 4)  # upgrades ``original`` in place
        nbformat.validate(book)
    except Exception as error:
        notes.append(f"{path.name} is not a readable notebook ({_short(error)})")
        path.rename(path.with_suffix(".unreadable"))
        return None
    if major < 4:
        notes.append(f"{path.name} was nbformat {major}; upgraded to 4")
        nbformat.write(book, path)
    return book


def _short(error):
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:120]


def _restore_names(books, release_names, target, notes):
    """Give a renamed notebook its release name back, matched by grade ids."""
    for name in [n for n in books if n not in release_names]:
        candidate = _matching_release_name(name, books[name], release_names)
        if candidate is None or candidate in books:
            notes.append(f"{name} is not a notebook of the assignment; ignored")
            continue
        (target / name).rename(target / candidate)
        books[candidate] = books.pop(name)
        notes.append(f"{name} graded as {candidate}")


def _matching_release_name(name, book, release_names):
    ids = {
        c.metadata.get("nbgrader", {}).get("grade_id")
        for c in book.cells
        if c.metadata.get("nbgrader", {}).get("grade_id")
    }
    by_id = [n for n, known in release_names.items() if ids & known]
    if len(by_id) == 1:
        return by_id[0]
    by_prefix = [n for n in release_names if name.startswith(n[:3])]
    return by_prefix[0] if len(by_prefix) == 1 else None


def release_grade_ids(source_dir):
    """Map each notebook name of the assignment to its nbgrader grade ids."""
    names = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        book = nbformat.read(path, as_version=4)
        names[path.name] = {
            c.metadata["nbgrader"]["grade_id"]
            for c in book.cells
            if c.metadata.get("nbgrader", {}).get("grade_id")
        }
    # An id every notebook has (the set-up cell) tells no notebook apart.
    shared = set.intersection(*names.values()) if names else set()
    return {name: ids - shared for name, ids in names.items()}
