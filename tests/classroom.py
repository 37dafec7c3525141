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


def build_class(target=CLASS_DIR):
    """Write every student's submission into ``target``; return the student ids."""
    for student, (_, edit, extra, _, _) in STUDENTS.items():
        folder = Path(target) / student / "deploy-bot"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        notebooks = {
            p.name: nbformat.read(p, as_version=4)
            for p in sorted(RELEASE.glob("*.ipynb"))
        }
        edit(notebooks)
        for name, book in notebooks.items():
            nbformat.write(book, folder / name)
        shutil.copy2(RELEASE / "task.json", folder / "task.json")
        for name, make in extra.items():
            (folder / name).write_text(make())
    return list(STUDENTS)
