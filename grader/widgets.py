"""The notebook widgets, and the lab control cell.

``checkpoint_panel``, ``request_simulator`` and ``blast_radius_view`` live
in the modules named after them and are re-exported here, so a notebook
imports every widget from one place.  The lab control cell shows where the
emulator listens, what it was seeded with, whether it enforces IAM, and
how this kernel found it; its reset asks for confirmation first.
"""

from __future__ import annotations

import configparser
import html
import logging
import os
from dataclasses import dataclass

import boto3
import botocore.exceptions

from grader import emulator, keys
from grader.blast_radius import blast_radius_view
from grader.labstate import BOT_PROFILE
from grader.panel import checkpoint_panel
from grader.simulator import request_simulator

__all__ = [
    "LabStatus",
    "blast_radius_view",
    "checkpoint_panel",
    "lab_control",
    "read_lab_status",
    "request_simulator",
    "reset_lab",
]

logger = logging.getLogger(__name__)

UNKNOWN_KEY_ID = "AKIAUNKNOWNLABKEY000"


@dataclass(frozen=True)
class LabStatus:
    """The emulator as the lab control cell shows it."""

    endpoint: str
    lab_dir: str
    running: bool
    path: str
    account: str | None = None
    bucket: bool = False
    distribution: bool = False
    enforcing: bool | None = None
    probe: str = ""

    def lines(self) -> list[str]:
        """The status in words, one fact a line."""
        if not self.running:
            return [
                f"✘ The lab emulator does not answer at {self.endpoint}.",
                "Start it with `make lab`, then run the set-up cell again.",
            ]
        mark = {True: "✔", False: "✘", None: "?"}
        return [
            f"✔ Emulator at {self.endpoint}, lab files in {self.lab_dir}",
            f"Connection: {self.path}",
            f"{mark[self.account is not None]} Account: {self.account or 'unknown'}",
            f"{mark[self.bucket]} Bucket {emulator.BUCKET}: "
            + ("seeded" if self.bucket else "missing"),
            f"{mark[self.distribution]} Distribution {emulator.DISTRIBUTION_ID}: "
            + ("seeded" if self.distribution else "missing"),
            f"{mark[self.enforcing]} IAM enforcement: "
            + {True: "on", False: "OFF", None: "unknown"}[self.enforcing]
            + f" ({self.probe})",
        ]


def connection_path(lab) -> str:
    """How this kernel found the lab: reconnected, or started its own."""
    if lab.process is None:
        return (
            f"reconnected to the lab `make lab` started ({emulator.LAB_DIR_VARIABLE})"
        )
    return "started a private emulator for this kernel (no `make lab` running)"


def read_lab_status(lab) -> LabStatus:
    """Ask the emulator what it holds and whether it refuses an unknown key."""
    base = dict(
        endpoint=lab.endpoint, lab_dir=str(lab.lab_dir), path=connection_path(lab)
    )
    if not emulator.is_healthy(lab.endpoint):
        return LabStatus(running=False, **base)
    session = lab.session()
    try:
        facts = _seeded(session)
    except (botocore.exceptions.BotoCoreError, OSError) as error:
        logger.warning("lab status: %s", error)
        return LabStatus(running=False, **base)
    return LabStatus(running=True, **base, **facts, **_enforcement(lab))


def _seeded(session) -> dict:
    facts = {}
    sts, s3 = session.client("sts"), session.client("s3")
    cloudfront = session.client("cloudfront")
    try:
        facts["account"] = sts.get_caller_identity()["Account"]
        facts["bucket"] = _exists(lambda: s3.head_bucket(Bucket=emulator.BUCKET))
        facts["distribution"] = _exists(
            lambda: cloudfront.get_distribution(Id=emulator.DISTRIBUTION_ID)
        )
    finally:
        for client in (sts, s3, cloudfront):
            client.close()
    return facts


def _exists(call) -> bool:
    try:
        call()
        return True
    except botocore.exceptions.ClientError:
        return False


def _enforcement(lab) -> dict:
    """Sign a request with a key IAM never issued: an enforcing lab refuses it."""
    stranger = boto3.Session(
        aws_access_key_id=UNKNOWN_KEY_ID,
        aws_secret_access_key="x" * 40,
        region_name=emulator.REGION,
    ).client("sts", endpoint_url=lab.endpoint)
    try:
        stranger.get_caller_identity()
        return {"enforcing": False, "probe": "an unknown key was accepted"}
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        enforcing = code == "InvalidClientTokenId"
        return {"enforcing": enforcing, "probe": f"an unknown key got {code}"}
    finally:
        stranger.close()


def reset_lab(lab, profile: str = BOT_PROFILE) -> None:
    """Return the lab to its seeded state: emulator, key store and bot profile."""
    lab.reset()
    keys.store_path(lab.lab_dir).unlink(missing_ok=True)
    _drop_section(lab.credentials_file, profile)
    _drop_section(lab.config_file, f"profile {profile}")
    lab.write_default_profile()
    logger.info("lab at %s reset to its seeded state", lab.endpoint)


def _drop_section(path, section: str) -> None:
    if not path.exists():
        return
    parser = configparser.RawConfigParser()
    parser.read(path)
    if parser.remove_section(section):
        descriptor = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            parser.write(handle)


def _status_html(status: LabStatus) -> str:
    state = "up" if status.running else "down"
    lines = "".join(f"<div>{html.escape(line)}</div>" for line in status.lines())
    return f'<div class="deploy-bot-lab-status" data-state="{state}">{lines}</div>'


def lab_control(lab):
    """The lab control widget: status, refresh, and reset after confirmation."""
    import ipywidgets as widgets

    view, note = widgets.HTML(), widgets.HTML()
    refresh = widgets.Button(description="Refresh status")
    reset = widgets.Button(description="Reset the lab…", button_style="warning")
    confirm = widgets.Button(description="Yes, reset", button_style="danger")
    cancel = widgets.Button(description="Cancel")
    asking = widgets.HBox([widgets.HTML(_CONFIRM_TEXT), confirm, cancel])
    asking.layout.display = "none"
    for widget, name in [(view, "status"), (refresh, "refresh"), (reset, "reset")]:
        widget.add_class(f"deploy-bot-lab-{name}")
    confirm.add_class("deploy-bot-lab-confirm")

    def show(_=None) -> None:
        view.value = _status_html(read_lab_status(lab))

    def ask(_=None) -> None:
        asking.layout.display = "flex"

    def dismiss(_=None) -> None:
        asking.layout.display = "none"

    def do_reset(_=None) -> None:
        dismiss()
        try:
            reset_lab(lab)
            note.value = "<div>✔ The lab is back in its seeded state.</div>"
        except (emulator.EmulatorError, OSError) as error:
            note.value = f"<div>✘ Reset failed: {html.escape(str(error))}</div>"
        show()

    refresh.on_click(show)
    reset.on_click(ask)
    cancel.on_click(dismiss)
    confirm.on_click(do_reset)
    show()
    box = widgets.VBox([view, widgets.HBox([refresh, reset]), asking, note])
    box.add_class("deploy-bot-lab-control")
    return box


_CONFIRM_TEXT = (
    "Reset deletes the user, its keys, the policy and every uploaded file. Sure?"
)
