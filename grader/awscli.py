"""Running the real ``aws`` command line inside the lab, with secrets masked.

Notebook cells run the tutorial's commands as printed through the ``%aws``
magic (see :mod:`grader.display`), which calls :func:`run_aws`.  The CLI
is the real awscli installed beside this package; the lab's environment
points it at the local emulator and at the lab's own config files.
"""

import configparser
import logging
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from grader import keys

log = logging.getLogger(__name__)
_ERROR_CODE = re.compile(r"An error occurred \(([A-Za-z0-9.]*)\)")
# `aws s3` redraws a progress line with carriage returns; a notebook would
# keep every frame of it.
_PROGRESS = re.compile(r"^Completed [^\r\n]*remaining\s*$")


class AwsCliError(Exception):
    """An ``aws`` command exited non-zero; ``stderr`` holds its own words."""

    def __init__(self, command, returncode, stderr):
        super().__init__(stderr.strip() or f"aws exited with status {returncode}")
        self.command = command
        self.returncode = returncode
        self.stderr = stderr
        found = _ERROR_CODE.search(stderr)
        self.code = found.group(1) if found else None


@dataclass(frozen=True)
class AwsResult:
    """What one ``aws`` command printed, secrets already masked."""

    command: str
    returncode: int
    stdout: str
    stderr: str


def aws_executable():
    """The awscli next to the running interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("aws")
    if beside.exists():
        return str(beside)
    found = shutil.which("aws")
    if found is None:
        raise FileNotFoundError("the aws command line is not installed")
    return found


def run_aws(command_line, env, lab_dir, cwd=None, timeout=120):
    """Run ``aws COMMAND_LINE`` in the lab and return what it printed.

    A created access key is saved to the lab's key store before anything
    is shown, and every secret in the output is masked.
    """
    try:
        args = shlex.split(command_line)
    except ValueError as error:
        raise AwsCliError(
            "aws " + command_line, 2, f"aws: {error} in: aws {command_line}"
        )
    completed = subprocess.run(
        [aws_executable(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    created = keys.keys_from_cli_output(completed.stdout)
    if created is not None:
        keys.save_access_key(lab_dir, created)
    secrets = [k.secret for k in keys.load_access_keys(lab_dir)]
    secrets += _profile_secrets(env.get("AWS_SHARED_CREDENTIALS_FILE"))
    log.info("aws %s -> %d", args[:2], completed.returncode)
    return AwsResult(
        command="aws " + command_line,
        returncode=completed.returncode,
        stdout=keys.mask_text(_without_progress(completed.stdout), secrets),
        stderr=keys.mask_text(completed.stderr, secrets),
    )


def _profile_secrets(credentials_file):
    """Every secret in the lab's credentials file, the administrator's included."""
    if not credentials_file:
        return []
    parser = configparser.RawConfigParser()
    try:
        parser.read(credentials_file)
    except configparser.Error:
        return []
    return [
        parser.get(section, "aws_secret_access_key")
        for section in parser.sections()
        if parser.has_option(section, "aws_secret_access_key")
    ]


def _without_progress(text):
    """``text`` less the progress frames of ``aws s3``, keeping what they overwrite."""
    lines = []
    for line in text.splitlines(keepends=True):
        frames = [f for f in line.split("\r") if f.strip() and not _PROGRESS.match(f)]
        if frames:
            lines.append(frames[-1] if frames[-1].endswith("\n") else frames[-1] + "\n")
    return "".join(lines)
