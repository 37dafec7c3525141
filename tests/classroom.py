"""The small class graded end to end: how each submission differs from the release.

Each student's ``deploy-bot`` folder in ``tests/data/submissions/`` is the
student release with the edits named here and nothing else; the committed
folders are kept equal to what :func:`build_class` makes (a test checks,
and ``pytest --update-golden`` rewrites them).
"""

import json
import shutil
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
RELEASE = REPO / "notebooks" / "deploy-bot"
SOLUTIONS = REPO / "solutions" / "deploy-bot"
CLASS_DIR = REPO / "tests" / "data" / "submissions"

POLICY_NOTEBOOK = "02-write-policy.ipynb"
PROFILE_NOTEBOOK = "04-configure-profile.ipynb"
OBJECTS = "arn:aws:s3:::my-frontend-app-assets/*"
BUCKET = "arn:aws:s3:::my-frontend-app-assets"
DISTRIBUTION = "arn:aws:cloudfront::123456789012:distribution/E1A2B3C4D5E6F7"


def _policy(objects=OBJECTS, listing=BUCKET, distribution=DISTRIBUTION):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": objects,
            },
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": listing},
            {
                "Effect": "Allow",
                "Action": "cloudfront:CreateInvalidation",
                "Resource": distribution,
            },
        ],
    }


def _policy_cell_text(policy):
    return "%%writefile deploy-bot-policy.json\n" + json.dumps(policy, indent=2)


def _solution_text():
    book = nbformat.read(SOLUTIONS / POLICY_NOTEBOOK, as_version=4)
    return next(
        c.source
        for c in book.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "policy"
    )


def _set_policy(notebooks, text):
    for cell in notebooks[POLICY_NOTEBOOK].cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "policy":
            cell.source = text


def _wrong_key_id(notebooks):
    for cell in notebooks[PROFILE_NOTEBOOK].cells:
        if "aws_access_key_id {key.id} --profile deploy-bot" in cell.source:
            cell.source = cell.source.replace(
                "{key.id} --profile deploy-bot",
                "AKIAIOSFODNN7EXAMPLE --profile deploy-bot",
            )
            return
    raise LookupError("the profile cell of 04-configure-profile has changed")


def _delete_answer_cell(notebooks):
    cells = notebooks[POLICY_NOTEBOOK].cells
    cells[:] = [
        c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") != "policy"
    ]


# student id -> (what they did, edit to apply, extra files, expected score, diagnoses
# that their feedback must show)
STUDENTS = {
    "complete": (
        "the instructor's solution in the policy cell",
        lambda nbs: _set_policy(nbs, _solution_text()),
        {},
        10,
        [],
    ),
    "untouched": (
        "the release as handed out, skeleton policy and all",
        lambda nbs: None,
        {},
        3,
        ["missing_action_element"],
    ),
    "objectsnostar": (
        "object actions on the bucket ARN, without /*",
        lambda nbs: _set_policy(nbs, _policy_cell_text(_policy(objects=BUCKET))),
        {},
        8,
        ["object_actions_on_bucket_arn"],
    ),
    "listbucketstar": (
        "s3:ListBucket on the /* object ARN",
        lambda nbs: _set_policy(nbs, _policy_cell_text(_policy(listing=OBJECTS))),
        {},
        8,
        ["listbucket_on_object_arn"],
    ),
    "cloudfrontregion": (
        "a region in the CloudFront distribution ARN",
        lambda nbs: _set_policy(
            nbs,
            _policy_cell_text(
                _policy(
                    distribution=DISTRIBUTION.replace(
                        "cloudfront::", "cloudfront:us-east-1:"
                    )
                )
            ),
        ),
        {},
        9,
        ["cloudfront_arn_has_region"],
    ),
    "wrongkeys": (
        "the right policy, but a key ID in the bot's profile that IAM never issued",
        lambda nbs: (_set_policy(nbs, _solution_text()), _wrong_key_id(nbs)),
        {},
        9,
        ["InvalidClientTokenId"],
    ),
    "malformedjson": (
        "a trailing comma after the last statement",
        lambda nbs: _set_policy(nbs, _policy_cell_text(_policy())[:-2] + ",\n]\n}"),
        {},
        3,
        ["malformed_json"],
    ),
    "plantedfile": (
        "the answer cell deleted, the solution's policy file added beside it",
        _delete_answer_cell,
        {"deploy-bot-policy.json": lambda: _solution_text().partition("\n")[2]},
        3,
        [],
    ),
}


def _fresh_submission(target, student):
    """An empty submission folder for ``student`` and the release's notebooks."""
    folder = Path(target) / student / "deploy-bot"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    notebooks = {
        p.name: nbformat.read(p, as_version=4) for p in sorted(RELEASE.glob("*.ipynb"))
    }
    return folder, notebooks


def build_class(target=CLASS_DIR):
    """Write every student's submission into ``target``; return the student ids."""
    for student, (_, edit, extra, _, _) in STUDENTS.items():
        folder, notebooks = _fresh_submission(target, student)
        edit(notebooks)
        for name, book in notebooks.items():
            nbformat.write(book, folder / name)
        shutil.copy2(RELEASE / "task.json", folder / "task.json")
        for name, make in extra.items():
            (folder / name).write_text(make())
    return list(STUDENTS)


# The bad class: one submission per kind of bad input, beside honest ones.
# Kinds that only concern the policy submit 02-write-policy alone; the
# missing notebooks are themselves part of each row's reason.
BAD_CLASS_DIR = REPO / "tests" / "data" / "badclass"
CREATE_USER = "01-create-user.ipynb"
PARTIAL = _policy(objects=BUCKET)  # fails s3_scoped only: 3 of the 5 policy points


def _cell_index(book, grade_id):
    for index, cell in enumerate(book.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise LookupError(f"no cell {grade_id!r}; the release has changed")


def _new_cell(source, cell_id):
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id  # fixed, so that the builder always writes the same files
    return cell


def _insert_after(book, grade_id, source):
    index = _cell_index(book, grade_id)
    book.cells.insert(index + 1, _new_cell(source, f"after-{grade_id}"))


def _append(book, source):
    book.cells.append(_new_cell(source, "appended"))


def _partial(nbs):
    _set_policy(nbs, _policy_cell_text(PARTIAL))


def _complete(nbs):
    _set_policy(nbs, _solution_text())


def _duplicate(book, grade_id):
    index = _cell_index(book, grade_id)
    copy = nbformat.from_dict(json.loads(json.dumps(book.cells[index])))
    copy.id = f"{copy.id}-copy"
    book.cells.insert(index + 1, copy)


def _strip_metadata(book):
    for cell in book.cells:
        cell.metadata = nbformat.NotebookNode()


_PATCH_CHECK = (
    "import grader.display\n\n"
    "def check(checkpoint_id):\n"
    "    print('PASS', checkpoint_id)\n\n"
    "grader.display.check = check"
)
_PATCH_LOADER = (
    "import grader.display, grader.report\n\n"
    "_real = grader.report.check_policy_file\n\n"
    "def _good(path, task):\n"
    "    from grader.report import check_policy_text\n"
    "    return check_policy_text(" + repr(json.dumps(_policy())) + ", task)\n\n"
    "grader.display.check_policy_file = _good"
)
_HIDE_TRACEBACKS = (
    "ip = get_ipython()\n"
    "ip.showtraceback = lambda *args, **kwargs: None\n"
    "ip._showtraceback = lambda *args, **kwargs: None"
)
_FAKE_GRADER = (
    "def start_notebook(*args, **kwargs):\n    return None\n\n"
    "def rebuild(*args, **kwargs):\n    return None\n\n"
    "def check(checkpoint_id):\n    print('PASS', checkpoint_id)\n"
)
_SWALLOW = (
    "import time\n\nwhile True:\n    try:\n        time.sleep(0.5)\n"
    "    except KeyboardInterrupt:\n        pass"
)
_STRAY_WARNING = (
    "import sys\n\n"
    "def _warn(result):\n"
    "    print('UserWarning: a stray library warning', file=sys.stderr)\n\n"
    "get_ipython().events.register('post_run_cell', _warn)"
)


def _only(*names):
    def keep(nbs):
        for name in list(nbs):
            if name not in names:
                del nbs[name]

    return keep


def _then(*edits):
    def apply(nbs):
        for edit in edits:
            edit(nbs)

    return apply


def _edit_book(name, edit):
    return lambda nbs: edit(nbs[name])


def _rename(old, new):
    def apply(nbs):
        nbs[new] = nbs.pop(old)

    return apply


def _policy_notebook(edit):
    return _edit_book(POLICY_NOTEBOOK, edit)


_WRITE_LATIN1 = (
    "from pathlib import Path\n\n"
    "policy = Path('deploy-bot-policy.json')\n"
    "policy.write_bytes(b'\\xff' + policy.read_bytes())"
)

# student id -> (what they did, edit, extra files, expected score, expected
# review flag, a phrase their row's notes or diagnosis must contain)
BAD_STUDENTS = {
    "honestpartial": (
        "02 alone, object actions without /*",
        _then(_only(POLICY_NOTEBOOK), _partial),
        {},
        3,
        False,
        "object_actions_on_bucket_arn",
    ),
    "patchcheck": (
        "as honestpartial, plus a cell that replaces check() with print('PASS')",
        _then(
            _only(POLICY_NOTEBOOK),
            _partial,
            _policy_notebook(lambda b: _insert_after(b, "policy", _PATCH_CHECK)),
        ),
        {},
        3,
        True,
        "differs from the grader's",
    ),
    "patchloader": (
        "as honestpartial, plus a cell that swaps the policy loader for a good policy",
        _then(
            _only(POLICY_NOTEBOOK),
            _partial,
            _policy_notebook(lambda b: _insert_after(b, "policy", _PATCH_LOADER)),
        ),
        {},
        3,
        True,
        "differs from the grader's",
    ),
    "hidetracebacks": (
        "as honestpartial, with tracebacks switched off",
        _then(
            _only(POLICY_NOTEBOOK),
            _partial,
            _policy_notebook(lambda b: _insert_after(b, "setup", _HIDE_TRACEBACKS)),
        ),
        {},
        3,
        False,
        "object_actions_on_bucket_arn",
    ),
    "editedgrader": (
        "as honestpartial, shipping a grader/display.py whose check() always passes",
        _then(_only(POLICY_NOTEBOOK), _partial),
        {"grader/__init__.py": lambda: "", "grader/display.py": lambda: _FAKE_GRADER},
        3,
        False,
        "object_actions_on_bucket_arn",
    ),
    "editedtest": (
        "as honestpartial, with the s3_scoped test cell edited to print PASS",
        _then(
            _only(POLICY_NOTEBOOK),
            _partial,
            _policy_notebook(
                lambda b: setattr(
                    b.cells[_cell_index(b, "s3_scoped")], "source", "print('PASS')"
                )
            ),
        ),
        {},
        3,
        False,
        "object_actions_on_bucket_arn",
    ),
    "deletedtest": (
        "as honestpartial, with the s3_scoped test cell deleted",
        _then(
            _only(POLICY_NOTEBOOK),
            _partial,
            _policy_notebook(lambda b: b.cells.pop(_cell_index(b, "s3_scoped"))),
        ),
        {},
        3,
        False,
        "object_actions_on_bucket_arn",
    ),
    "strippedmetadata": (
        "as honestpartial, with every cell's metadata stripped",
        _then(_only(POLICY_NOTEBOOK), _partial, _policy_notebook(_strip_metadata)),
        {},
        3,
        True,
        "differs from the grader's",
    ),
    "duplicateanswer": (
        "02 alone, complete policy, the answer cell pasted twice",
        _then(
            _only(POLICY_NOTEBOOK),
            _complete,
            _policy_notebook(lambda b: _duplicate(b, "policy")),
        ),
        {},
        5,
        False,
        "not submitted",
    ),
    "duplicatetest": (
        "02 alone, complete policy, a test cell pasted twice",
        _then(
            _only(POLICY_NOTEBOOK),
            _complete,
            _policy_notebook(lambda b: _duplicate(b, "exact_actions")),
        ),
        {},
        5,
        False,
        "not submitted",
    ),
    "renamed": (
        "02 alone, complete, saved as 02-write-policy-Copy1.ipynb",
        _then(
            _only(POLICY_NOTEBOOK),
            _complete,
            _rename(POLICY_NOTEBOOK, "02-write-policy-Copy1.ipynb"),
        ),
        {},
        5,
        False,
        "02-write-policy-Copy1.ipynb graded as 02-write-policy.ipynb",
    ),
    "oldformat": (
        "02 alone, complete, saved as nbformat 3",
        _then(_only(POLICY_NOTEBOOK), _complete),
        {},
        5,
        False,
        "was nbformat 3",
    ),
    "malformednotebook": (
        "01 cut short mid-file (malformed JSON), 02 complete",
        _then(_only(CREATE_USER, POLICY_NOTEBOOK), _complete),
        {},
        5,
        False,
        "01-create-user.ipynb is not a readable notebook",
    ),
    "nopolicy": (
        "02 alone with the answer cell deleted: no policy file is ever written",
        _then(_only(POLICY_NOTEBOOK), _delete_answer_cell),
        {},
        0,
        False,
        "policy_missing",
    ),
    "latin1policy": (
        "02 alone: the policy cell is right, a later cell makes the file non-UTF-8",
        _then(
            _only(POLICY_NOTEBOOK),
            _complete,
            _policy_notebook(lambda b: _insert_after(b, "policy", _WRITE_LATIN1)),
        ),
        {},
        5,
        True,
        "differs from the grader's",
    ),
    "hugeoutput": (
        "02 alone, complete, a cell printing 200000 lines",
        _then(
            _only(POLICY_NOTEBOOK),
            _complete,
            _policy_notebook(
                lambda b: _insert_after(
                    b, "policy", "for i in range(200000):\n    print('line', i)"
                )
            ),
        ),
        {},
        5,
        False,
        "not submitted",
    ),
    "stderrwarning": (
        "02 alone, complete, every cell after the answer writes a warning to stderr",
        _then(
            _only(POLICY_NOTEBOOK),
            _complete,
            _policy_notebook(lambda b: _insert_after(b, "setup", _STRAY_WARNING)),
        ),
        {},
        5,
        False,
        "not submitted",
    ),
    "infiniteloop": (
        "01 alone, with while True: pass before its checks",
        _then(
            _only(CREATE_USER),
            _edit_book(
                CREATE_USER,
                lambda b: _insert_after(b, "setup", "while True:\n    pass"),
            ),
        ),
        {},
        2,
        False,
        "ran past the time limit",
    ),
    "swallowinterrupt": (
        "01 with a loop that swallows KeyboardInterrupt after its checks, 02 complete",
        _then(
            _only(CREATE_USER, POLICY_NOTEBOOK),
            _complete,
            _edit_book(CREATE_USER, lambda b: _append(b, _SWALLOW)),
        ),
        {},
        7,
        False,
        "ignored the interrupt",
    ),
    "killkernel": (
        "01 ending its own kernel with os._exit after its checks, 02 complete",
        _then(
            _only(CREATE_USER, POLICY_NOTEBOOK),
            _complete,
            _edit_book(CREATE_USER, lambda b: _append(b, "import os\n\nos._exit(1)")),
        ),
        {},
        7,
        False,
        "the kernel died",
    ),
    "emptyfolder": (
        "an empty deploy-bot folder",
        _only(),
        {},
        0,
        False,
        "no notebook was submitted",
    ),
}

# Pairs of (tampered, honest) submissions that must score the same.
TAMPER_PAIRS = {
    name: "honestpartial"
    for name in (
        "patchcheck",
        "patchloader",
        "hidetracebacks",
        "editedgrader",
        "editedtest",
        "deletedtest",
        "strippedmetadata",
    )
}


def _write_bad_submission(student, folder, notebooks):
    for name, book in notebooks.items():
        if student == "oldformat":
            nbformat.write(nbformat.convert(book, 3), folder / name, version=3)
        elif student == "malformednotebook" and name == CREATE_USER:
            text = nbformat.writes(book)
            (folder / name).write_text(text[: len(text) // 2])
        else:
            nbformat.write(book, folder / name)


def build_bad_class(target=BAD_CLASS_DIR):
    """Write every bad-class submission into ``target``; return the student ids."""
    for student, (_, edit, extra, _, _, _) in BAD_STUDENTS.items():
        folder, notebooks = _fresh_submission(target, student)
        edit(notebooks)
        _write_bad_submission(student, folder, notebooks)
        if notebooks:
            shutil.copy2(RELEASE / "task.json", folder / "task.json")
        else:
            (folder / ".gitkeep").write_text("")  # git keeps no empty folder
        for name, make in extra.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(make())
    return list(BAD_STUDENTS)
