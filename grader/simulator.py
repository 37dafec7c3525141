"""The request simulator: one request, decided by the evaluator and by the lab.

The evaluator decides the request from the policy file the way IAM would;
the lab decides it for real, when the same request is sent to the emulator
with the bot's keys.  Only actions with a boto3 call in ``LAB_CALLS`` can be
sent; for any other the simulator says so instead of guessing.  Sending a
request the policy allows really performs it in the lab (an upload, a
deletion); "Reset the lab" in the lab control cell undoes it.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import botocore.exceptions

from grader.evaluator import Decision, evaluate_request
from grader.labstate import BOT_PROFILE
from grader.panel import read_report
from grader.policy import PolicyFileError, read_policy_file
from grader.task import Task

logger = logging.getLogger(__name__)

DENIED_CODES = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
OTHER_BUCKET = "my-frontend-app-assets-prod"
OTHER_DISTRIBUTION = "EDFDVBD6EXAMPLE"
PROBE_KEY = "deploy-bot-simulator.txt"


@dataclass(frozen=True)
class Preset:
    """A request the simulator offers, and why it is on the list."""

    label: str
    action: str
    resource: str


@dataclass(frozen=True)
class LabAnswer:
    """What the emulator said to one request sent with the bot's keys."""

    sent: bool
    allowed: bool | None
    text: str


def presets(task: Task, report=None) -> tuple[Preset, ...]:
    """The deploy's own calls, the calls that must fail, and the grader's over-grant."""
    names = task.names
    bucket, objects = names["bucket_arn"], names["object_arn"]
    obj = objects.replace("*", "index.html")
    other_distribution = names["distribution_arn"].rsplit("/", 1)[0]
    found = [
        Preset("deploy: list the bucket", "s3:ListBucket", bucket),
        Preset("deploy: upload an object", "s3:PutObject", obj),
        Preset("deploy: delete an object", "s3:DeleteObject", obj),
        Preset(
            "deploy: invalidate the CDN",
            "cloudfront:CreateInvalidation",
            names["distribution_arn"],
        ),
        Preset("must fail: list IAM users", "iam:ListUsers", "*"),
        Preset("must fail: delete the bucket", "s3:DeleteBucket", bucket),
        Preset(
            "must fail: upload to another bucket",
            "s3:PutObject",
            f"arn:aws:s3:::{OTHER_BUCKET}/index.html",
        ),
        Preset(
            "must fail: invalidate another distribution",
            "cloudfront:CreateInvalidation",
            f"{other_distribution}/{OTHER_DISTRIBUTION}",
        ),
    ]
    for request in report.over_grant[:3] if report is not None else ():
        found.append(
            Preset(
                f"over-grant found by the grader: {request.action}",
                request.action,
                request.resource,
            )
        )
    return tuple(found)


# The evaluator's answer


def decide_request(policy_text: str, action: str, resource: str) -> Decision:
    """The evaluator's decision on one request under the policy text."""
    return evaluate_request([policy_text], action.strip(), resource.strip())


def explain_decision(decision: Decision, principal_arn: str) -> str:
    """The decision in words: allowed or denied, by which statement, and how."""
    where = (
        f"statement {decision.statement!r}"
        if decision.statement is not None
        else "no statement"
    )
    if decision.allowed:
        return f"ALLOWED: {decision.action} on {decision.resource}, by {where}."
    if decision.conditional:
        return (
            f"DENIED unless a Condition holds: {where} decides, and the "
            "simulator does not evaluate conditions."
        )
    kind = "explicit deny" if decision.explicit_deny else "implicit deny"
    return f"DENIED ({kind}, {where}): {decision.message(principal_arn)}"


# The lab's answer


def _split_s3(resource: str) -> tuple[str, str | None]:
    path = resource.removeprefix("arn:aws:s3:::")
    bucket, slash, key = path.partition("/")
    return bucket, (key or PROBE_KEY) if slash else None


def _distribution_id(resource: str) -> str:
    return resource.rsplit("/", 1)[-1]


def _invalidation(client, resource):
    batch = {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "sim"}
    return client.create_invalidation(
        DistributionId=_distribution_id(resource), InvalidationBatch=batch
    )


LAB_CALLS: dict[str, tuple[str, str, Callable]] = {
    "s3:listbucket": (
        "s3",
        "ListObjectsV2",
        lambda c, r: c.list_objects_v2(Bucket=_split_s3(r)[0], MaxKeys=1),
    ),
    "s3:putobject": (
        "s3",
        "PutObject",
        lambda c, r: c.put_object(
            Bucket=_split_s3(r)[0], Key=_split_s3(r)[1], Body=b"simulator\n"
        ),
    ),
    "s3:deleteobject": (
        "s3",
        "DeleteObject",
        lambda c, r: c.delete_object(Bucket=_split_s3(r)[0], Key=_split_s3(r)[1]),
    ),
    "s3:getobject": (
        "s3",
        "GetObject",
        lambda c, r: c.get_object(Bucket=_split_s3(r)[0], Key=_split_s3(r)[1]),
    ),
    "s3:deletebucket": (
        "s3",
        "DeleteBucket",
        lambda c, r: c.delete_bucket(Bucket=_split_s3(r)[0]),
    ),
    "cloudfront:createinvalidation": (
        "cloudfront",
        "CreateInvalidation",
        _invalidation,
    ),
    "iam:listusers": ("iam", "ListUsers", lambda c, r: c.list_users()),
}
"""Action (lower case) -> (boto3 service, operation, call with client and ARN)."""


def send_to_lab(lab, action: str, resource: str, profile: str = BOT_PROFILE):
    """Send the request to the emulator with ``profile``'s keys; a LabAnswer."""
    entry = LAB_CALLS.get(action.strip().lower())
    if entry is None:
        known = ", ".join(sorted(LAB_CALLS))
        return LabAnswer(
            False,
            None,
            f"The lab cannot send {action}: it knows no call for it "
            f"(it can send {known}).",
        )
    service, operation, call = entry
    try:
        client = lab.session(profile).client(service)
    except botocore.exceptions.ProfileNotFound:
        return LabAnswer(False, None, f"There is no {profile} profile yet (step 6).")
    try:
        call(client, resource.strip())
    except botocore.exceptions.ClientError as error:
        return _answer_from_error(error)
    except (botocore.exceptions.BotoCoreError, OSError, ValueError) as error:
        return LabAnswer(False, None, f"The lab did not answer: {error}")
    finally:
        client.close()
    logger.info("lab allowed %s on %s", action, resource)
    return LabAnswer(True, True, f"The lab ran {operation}: allowed.")


def _answer_from_error(error) -> LabAnswer:
    code = error.response.get("Error", {}).get("Code", "")
    if code in DENIED_CODES:
        return LabAnswer(True, False, f"The lab denied it: {error}")
    return LabAnswer(True, True, f"The lab authorized it, then answered: {error}")


# The widget


def _options(found):
    return [("type your own request", None)] + [
        (f"{p.label} — {p.action} on {p.resource}", p) for p in found
    ]


def request_simulator(lab=None, task: Task | None = None, policy_file=None):
    """The simulator widget: presets, action and ARN fields, and two answers."""
    import ipywidgets as widgets

    from grader.task import load_task

    task = task or load_task(Path("task.json"))
    path = Path(policy_file or task.policy_file)
    report, _ = read_report(task, path)
    wide = {"layout": widgets.Layout(width="48em")}
    choice = widgets.Dropdown(
        options=_options(presets(task, report)),
        value=None,
        description="Preset",
        **wide,
    )
    action = widgets.Text(value="iam:ListUsers", description="Action", **wide)
    resource = widgets.Text(value="*", description="Resource", **wide)
    ask = widgets.Button(description="Evaluate")
    send = widgets.Button(description="Send to the lab", disabled=lab is None)
    verdict, lab_view = widgets.HTML(), widgets.HTML()
    for widget, name in [
        (choice, "preset"),
        (action, "action"),
        (resource, "resource"),
        (ask, "evaluate"),
        (send, "send"),
        (verdict, "verdict"),
        (lab_view, "lab"),
    ]:
        widget.add_class(f"deploy-bot-sim-{name}")

    def picked(change) -> None:
        if change["new"] is not None:
            action.value, resource.value = change["new"].action, change["new"].resource

    def evaluate(_=None) -> None:
        verdict.value = _verdict_html(path, task, action.value, resource.value)
        lab_view.value = ""

    def to_lab(_=None) -> None:
        evaluate()
        answer = send_to_lab(lab, action.value, resource.value)
        lab_view.value = _lab_html(answer)

    choice.observe(picked, names="value")
    ask.on_click(evaluate)
    send.on_click(to_lab)
    evaluate()
    box = widgets.VBox(
        [choice, action, resource, widgets.HBox([ask, send]), verdict, lab_view]
    )
    box.add_class("deploy-bot-simulator")
    return box


def _verdict_html(path: Path, task: Task, action: str, resource: str) -> str:
    try:
        text = read_policy_file(path)
    except PolicyFileError as error:
        return _html_line("problem", f"⚠ {error}; run the policy cell to write it")
    decision = decide_request(text, action, resource)
    state = "allowed" if decision.allowed else "denied"
    symbol = "✔" if decision.allowed else "✘"
    words = explain_decision(decision, task.principal_arn)
    return _html_line(state, f"{symbol} Evaluator: {words}")


def _lab_html(answer: LabAnswer) -> str:
    if not answer.sent:
        return _html_line("unsent", f"Lab: {answer.text}")
    state = "allowed" if answer.allowed else "denied"
    symbol = "✔" if answer.allowed else "✘"
    return _html_line(state, f"{symbol} Lab: {answer.text}")


def _html_line(state: str, text: str) -> str:
    return (
        f'<div class="deploy-bot-answer" data-state="{state}">{html.escape(text)}</div>'
    )
