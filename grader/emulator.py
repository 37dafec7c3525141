"""The lab's local AWS emulator: a patched moto server on 127.0.0.1.

The server runs as its own process. ``start`` detaches one that outlives the
process that started it (``make lab``); ``start_embedded`` runs one as a child
that exits with its parent (a notebook run with no lab running). Both write
``emulator.json`` into the lab directory, and ``connect_lab`` finds the server
through it. The lab directory also holds the AWS config and credentials files
that the lab's environment points the SDKs and the ``aws`` CLI at, so nothing
reads or writes the real ``~/.aws``.

Seeded before the first request and again after every reset: account
123456789012, the lab administrator ``admin`` (the default profile), bucket
``my-frontend-app-assets`` and CloudFront distribution ``E1A2B3C4D5E6F7``.

Known gap: botocore still looks for extra service models in ``~/.aws/models``
and awscli for aliases in ``~/.aws/cli/alias``; both paths are fixed in their
code. They are only read, and only if they exist.

Usage::

    python -m grader.emulator serve --lab-dir DIR [--port 0] [--parent-pid PID]
    python -m grader.emulator start --lab-dir DIR
    python -m grader.emulator status --lab-dir DIR
    python -m grader.emulator stop --lab-dir DIR
"""

import argparse
import atexit
import configparser
import http.client
import ipaddress
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlparse

import boto3
import botocore.session

from grader import keys

__all__ = [
    "ACCOUNT_ID",
    "ADMIN_ACCESS_KEY_ID",
    "ADMIN_ARN",
    "ADMIN_SECRET_ACCESS_KEY",
    "ADMIN_USER",
    "BUCKET",
    "DISTRIBUTION_ID",
    "HOST",
    "LAB_DIR_VARIABLE",
    "REGION",
    "EmulatorError",
    "EmulatorInfo",
    "EmulatorNotLoopback",
    "Lab",
    "LabSession",
    "connect_lab",
    "ensure_loopback",
    "is_healthy",
    "is_loopback",
    "main",
    "read_info",
    "seed",
    "serve",
    "start",
    "start_embedded",
    "status",
    "stop",
]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
BUCKET = "my-frontend-app-assets"
DISTRIBUTION_ID = "E1A2B3C4D5E6F7"
ADMIN_USER = "admin"
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/{ADMIN_USER}"
ADMIN_USER_ID = "AIDAADMINLAB000000001"
ADMIN_POLICY_NAME = "LabAdministratorAccess"
ADMIN_ACCESS_KEY_ID = "AKIAADMINLAB00000001"
ADMIN_SECRET_ACCESS_KEY = "LabAdminSecretKeyForTheLocalEmulator0001"
LAB_DIR_VARIABLE = "DEPLOY_BOT_LAB_DIR"
INFO_FILE = "emulator.json"
LOG_FILE = "emulator.log"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
_POLL = 0.05
_LOOPBACK_NAMES = {"localhost"}
_NO_PROXY_HOSTS = ("127.0.0.1", "localhost", "::1")


class EmulatorError(RuntimeError):
    """The emulator could not be started, reached or stopped."""


class EmulatorNotLoopback(EmulatorError):
    """The emulator's address is not a loopback address."""

    def __init__(self, address: str) -> None:
        super().__init__(
            f"Refusing to use the emulator at {address}: it is not a loopback "
            "address. The lab only talks to a local emulator on 127.0.0.1, so "
            "that nothing it does can reach real AWS."
        )
        self.address = address


@dataclass(frozen=True)
class EmulatorInfo:
    """Where a running emulator listens, as recorded in ``emulator.json``."""

    endpoint: str
    pid: int
    port: int


def is_loopback(host: str) -> bool:
    """Whether host is 127.0.0.0/8, ::1 or localhost."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ensure_loopback(endpoint_or_host: str) -> None:
    """Raise EmulatorNotLoopback unless the endpoint or host is loopback."""
    parsed = urlparse(endpoint_or_host)
    host = parsed.hostname if parsed.scheme else endpoint_or_host
    if not host or not is_loopback(host):
        raise EmulatorNotLoopback(endpoint_or_host)


# Seeding


def seed() -> None:
    """Create the lab's fixed state in moto's in-process backends."""
    _seed_admin()
    _seed_bucket()
    _seed_distribution()
    log.info(
        "seeded account %s: %s (key %s, secret %s), bucket %s, distribution %s",
        ACCOUNT_ID,
        ADMIN_USER,
        ADMIN_ACCESS_KEY_ID,
        keys.mask(ADMIN_SECRET_ACCESS_KEY),
        BUCKET,
        DISTRIBUTION_ID,
    )


def _seed_admin() -> None:
    from moto.iam.models import iam_backends

    iam = iam_backends[ACCOUNT_ID][PARTITION]
    iam.create_user(REGION, ADMIN_USER).id = ADMIN_USER_ID
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_user_policy(ADMIN_USER, ADMIN_POLICY_NAME, json.dumps(policy))

    key = iam.create_access_key(ADMIN_USER)
    del iam.access_keys[key.access_key_id]
    key.access_key_id = ADMIN_ACCESS_KEY_ID
    key.secret_access_key = ADMIN_SECRET_ACCESS_KEY
    iam.access_keys[ADMIN_ACCESS_KEY_ID] = key


def _seed_bucket() -> None:
    from moto.s3.models import s3_backends

    s3_backends[ACCOUNT_ID][PARTITION].create_bucket(BUCKET, REGION)


def _seed_distribution() -> None:
    from moto.cloudfront.models import cloudfront_backends

    backend = cloudfront_backends[ACCOUNT_ID][PARTITION]
    distribution, _, _ = backend.create_distribution(_distribution_config(), [])

    del backend.distributions[distribution.distribution_id]
    distribution.distribution_id = DISTRIBUTION_ID
    distribution.id = DISTRIBUTION_ID
    distribution.arn = (
        f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{DISTRIBUTION_ID}"
    )
    backend.distributions[DISTRIBUTION_ID] = distribution


def _distribution_config() -> dict:
    origin_id = f"s3-{BUCKET}"
    return {
        "CallerReference": "deploy-bot-lab",
        "Comment": "Frontend of the deploy-bot lab",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": origin_id,
                    "DomainName": f"{BUCKET}.s3.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": origin_id,
            "ViewerProtocolPolicy": "redirect-to-https",
        },
    }


# The server process


def serve(
    lab_dir: Path,
    port: int = 0,
    parent_pid: int | None = None,
    ephemeral: bool = False,
    host: str = HOST,
) -> None:
    """Run the emulator in the foreground until SIGTERM, SIGINT or parent exit.

    Args:
        parent_pid: exit by itself once this process is gone.
        ephemeral: remove lab_dir on exit.
    """
    ensure_loopback(host)
    lab_dir = _make_lab_dir(lab_dir)
    server = _make_server(host, port)
    stop_event = _stop_on_signals()

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    info = EmulatorInfo(_endpoint(host, server.port), os.getpid(), server.port)
    try:
        _wait_until_healthy(info.endpoint, START_TIMEOUT)
        _write_info(lab_dir, info)
        log.info("emulator serving at %s (pid %d)", info.endpoint, info.pid)
        _wait_for_stop(stop_event, parent_pid)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        _remove_info(lab_dir, info.pid)
        if ephemeral:
            shutil.rmtree(lab_dir, ignore_errors=True)
        log.info("emulator at %s stopped", info.endpoint)


def _endpoint(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _make_server(host: str, port: int) -> Any:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from grader import moto_fixes

    moto_fixes.apply()
    moto_fixes.warm_up()
    moto_fixes.on_reset(seed)
    seed()
    app = moto_fixes.guard(DomainDispatcherApplication(create_backend_app))
    return make_server(
        host, port, app, threaded=True, request_handler=MotoRequestHandler
    )


def _stop_on_signals() -> threading.Event:
    stop_event = threading.Event()

    def handle(signum: int, frame: object) -> None:
        stop_event.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop_event


def _wait_for_stop(stop_event: threading.Event, parent_pid: int | None) -> None:
    initial_ppid = os.getppid()
    while not stop_event.wait(0.2):
        if parent_pid is not None and _parent_gone(parent_pid, initial_ppid):
            log.info("parent process %d is gone; stopping", parent_pid)
            return


def _parent_gone(parent_pid: int, initial_ppid: int) -> bool:
    if parent_pid == initial_ppid and os.getppid() != initial_ppid:
        return True
    return not _process_alive(parent_pid)


def _process_alive(pid: int) -> bool:
    """Whether pid runs and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


# The lab directory and emulator.json


def _make_lab_dir(lab_dir: Path | str) -> Path:
    lab_dir = Path(lab_dir).resolve()
    lab_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return lab_dir


def _write_info(lab_dir: Path, info: EmulatorInfo) -> None:
    text = json.dumps({"endpoint": info.endpoint, "pid": info.pid, "port": info.port})
    temporary = lab_dir / f".{INFO_FILE}.{info.pid}"
    temporary.write_text(text + "\n")
    os.replace(temporary, lab_dir / INFO_FILE)


def read_info(lab_dir: Path | str) -> EmulatorInfo | None:
    """What emulator.json in lab_dir says, or None if there is none."""
    try:
        data = json.loads((Path(lab_dir) / INFO_FILE).read_text())
        return EmulatorInfo(str(data["endpoint"]), int(data["pid"]), int(data["port"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remove_info(lab_dir: Path, pid: int) -> None:
    info = read_info(lab_dir)
    if info is not None and info.pid == pid:
        (lab_dir / INFO_FILE).unlink(missing_ok=True)


def _request(endpoint: str, method: str, path: str, timeout: float = 2.0) -> int:
    """Send one body-less request to the emulator, never through a proxy."""
    ensure_loopback(endpoint)
    parsed = urlparse(endpoint)
    connection = http.client.HTTPConnection(
        parsed.hostname, parsed.port, timeout=timeout
    )
    try:
        connection.request(method, path, headers={"Content-Length": "0"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def is_healthy(endpoint: str) -> bool:
    """Whether a moto server answers at endpoint."""
    try:
        return 200 <= _request(endpoint, "GET", "/moto-api/config") < 300
    except OSError:
        return False


def _wait_until_healthy(endpoint: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not is_healthy(endpoint):
        if time.monotonic() > deadline:
            raise EmulatorError(f"The emulator at {endpoint} did not answer.")
        time.sleep(_POLL)


def status(lab_dir: Path | str) -> EmulatorInfo | None:
    """The live emulator of lab_dir, or None if none is running there."""
    info = read_info(lab_dir)
    if info is None:
        return None
    ensure_loopback(info.endpoint)
    if _process_alive(info.pid) and is_healthy(info.endpoint):
        return info
    return None


# Starting and stopping


def _serve_command(lab_dir: Path, port: int, verbose: bool) -> list[str]:
    command = [sys.executable, "-m", "grader.emulator", "serve"]
    command += ["--lab-dir", str(lab_dir), "--port", str(port)]
    return command + (["--verbose"] if verbose else [])


def start(lab_dir: Path | str, port: int = 0, verbose: bool = False) -> EmulatorInfo:
    """Start a detached emulator for lab_dir unless one is alive there.

    The server runs in its own session, so it outlives the caller; stop it
    with ``stop``.
    """
    lab_dir = _make_lab_dir(lab_dir)
    running = status(lab_dir)
    if running is not None:
        log.info("emulator already running at %s", running.endpoint)
        return running

    (lab_dir / INFO_FILE).unlink(missing_ok=True)
    pid = _spawn_detached(_serve_command(lab_dir, port, verbose), lab_dir / LOG_FILE)
    try:
        info = _wait_for_info(lab_dir, pid, lambda: _child_exited(pid))
    except EmulatorError:
        _terminate_pid(pid, STOP_TIMEOUT)
        raise
    log.info("emulator started at %s (pid %d)", info.endpoint, info.pid)
    return info


def _spawn_detached(command: list[str], log_path: Path) -> int:
    """Spawn command in a new session with output to log_path; return its pid."""
    write_flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_path), write_flags, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    return os.posix_spawn(
        command[0], command, os.environ, file_actions=file_actions, setsid=True
    )


def _child_exited(pid: int) -> bool:
    """Whether our child pid has exited (reaping it), or is not our child."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not _process_alive(pid)
    return done == pid


def _wait_for_info(lab_dir: Path, pid: int, exited) -> EmulatorInfo:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        info = read_info(lab_dir)
        if info is not None and info.pid == pid:
            return info
        if exited():
            break
        time.sleep(_POLL)
    raise EmulatorError(
        f"The emulator did not start; see its log:\n{_log_tail(lab_dir)}"
    )


def _log_tail(lab_dir: Path, lines: int = 20) -> str:
    try:
        text = (lab_dir / LOG_FILE).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def stop(lab_dir: Path | str, timeout: float = STOP_TIMEOUT) -> EmulatorInfo | None:
    """Stop the emulator of lab_dir; return what was stopped, or None."""
    info = read_info(lab_dir)
    if info is None:
        return None
    if not (_process_alive(info.pid) and _is_emulator(info.pid)):
        _child_exited(info.pid)
        (Path(lab_dir) / INFO_FILE).unlink(missing_ok=True)
        return None
    _terminate_pid(info.pid, timeout)
    log.info("emulator at %s stopped", info.endpoint)
    return info


def _is_emulator(pid: int) -> bool:
    """Whether pid runs this module, so a reused pid is never signalled."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"grader.emulator" in command


def _terminate_pid(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while not _child_exited(pid):
        if time.monotonic() > deadline:
            raise EmulatorError(f"The emulator (pid {pid}) did not stop.")
        time.sleep(_POLL)


def start_embedded(lab_dir: Path | str | None = None) -> "Lab":
    """Start an emulator as a child that exits when this process does.

    Without lab_dir, a fresh temporary lab directory is used and removed at
    exit. The server watches this process's pid, so it also exits after a
    SIGKILL of this process.
    """
    ephemeral = lab_dir is None
    if ephemeral:
        lab_dir = tempfile.mkdtemp(prefix="deploy-bot-lab-")
    lab_dir = _make_lab_dir(lab_dir)

    command = _serve_command(lab_dir, 0, verbose=False)
    command += ["--parent-pid", str(os.getpid())]
    command += ["--ephemeral"] if ephemeral else []
    process = _popen_server(command, lab_dir / LOG_FILE)
    try:
        info = _wait_for_info(lab_dir, process.pid, lambda: process.poll() is not None)
    except BaseException:
        _terminate(process)
        if ephemeral:
            shutil.rmtree(lab_dir, ignore_errors=True)
        raise
    lab = Lab(lab_dir, info.endpoint, process=process, ephemeral=ephemeral)
    atexit.register(lab.close)
    return lab


def _popen_server(command: list[str], log_path: Path) -> subprocess.Popen:
    # A session of its own: a kernel interrupt signals the kernel's process
    # group, and must not stop the emulator.
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _terminate(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# The lab as the notebooks see it


@dataclass
class Lab:
    """A lab directory and the emulator it talks to."""

    lab_dir: Path
    endpoint: str
    process: subprocess.Popen | None = field(default=None, repr=False)
    ephemeral: bool = False

    def __post_init__(self) -> None:
        self.lab_dir = Path(self.lab_dir)
        ensure_loopback(self.endpoint)

    @property
    def config_file(self) -> Path:
        """The lab's AWS config file."""
        return self.lab_dir / "aws" / "config"

    @property
    def credentials_file(self) -> Path:
        """The lab's AWS shared credentials file (mode 0600)."""
        return self.lab_dir / "aws" / "credentials"

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """base (default os.environ) without its AWS_* variables, plus the lab's."""
        source = os.environ if base is None else base
        env = {k: v for k, v in source.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_CONFIG_FILE=str(self.config_file),
            AWS_SHARED_CREDENTIALS_FILE=str(self.credentials_file),
            AWS_DEFAULT_REGION=REGION,
            AWS_EC2_METADATA_DISABLED="true",
        )
        env[LAB_DIR_VARIABLE] = str(self.lab_dir)
        no_proxy = _no_proxy(env)
        env["NO_PROXY"] = env["no_proxy"] = no_proxy
        return env

    def activate(self) -> None:
        """Apply environ() to os.environ and write the default profile."""
        self.write_default_profile()
        env = self.environ()
        for name in [k for k in os.environ if k not in env]:
            del os.environ[name]
        os.environ.update(env)
        log.info("lab active: %s, AWS files in %s", self.endpoint, self.lab_dir)

    def write_default_profile(self) -> None:
        """Make the default profile the lab admin; other profiles are kept."""
        self.config_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _update_ini(self.config_file, "default", {"region": REGION, "output": "json"})
        credentials = {
            "aws_access_key_id": ADMIN_ACCESS_KEY_ID,
            "aws_secret_access_key": ADMIN_SECRET_ACCESS_KEY,
        }
        _update_ini(self.credentials_file, "default", credentials)

    def session(self, profile: str | None = None) -> boto3.Session:
        """A boto3 session on the lab's files whose clients use the emulator."""
        if not self.credentials_file.exists():
            self.write_default_profile()
        core = botocore.session.Session()
        core.set_config_variable("config_file", str(self.config_file))
        core.set_config_variable("credentials_file", str(self.credentials_file))
        core.set_config_variable("profile", profile or "default")
        return LabSession(self.endpoint, botocore_session=core, region_name=REGION)

    def reset(self) -> None:
        """Reset the emulator to its seeded state."""
        if _request(self.endpoint, "POST", "/moto-api/reset") != 200:
            raise EmulatorError(f"The emulator at {self.endpoint} did not reset.")
        log.info("emulator at %s reset", self.endpoint)

    def close(self) -> None:
        """Stop the emulator if this Lab started it; otherwise do nothing."""
        process, self.process = self.process, None
        if process is not None:
            _terminate(process)
        if self.ephemeral:
            shutil.rmtree(self.lab_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class LabSession(boto3.Session):
    """A boto3 session whose clients and resources default to the emulator."""

    def __init__(self, endpoint: str, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.lab_endpoint = endpoint

    def client(self, *args, **kwargs):
        kwargs.setdefault("endpoint_url", self.lab_endpoint)
        return super().client(*args, **kwargs)

    def resource(self, *args, **kwargs):
        kwargs.setdefault("endpoint_url", self.lab_endpoint)
        return super().resource(*args, **kwargs)


def _no_proxy(env: Mapping[str, str]) -> str:
    current = env.get("NO_PROXY") or env.get("no_proxy") or ""
    hosts = [h for h in current.split(",") if h]
    return ",".join(hosts + [h for h in _NO_PROXY_HOSTS if h not in hosts])


def _update_ini(path: Path, section: str, values: dict[str, str]) -> None:
    """Set values in one section of an ini file, written with mode 0600."""
    parser = configparser.RawConfigParser()
    parser.read(path)
    if not parser.has_section(section):
        parser.add_section(section)
    for key, value in values.items():
        parser.set(section, key, value)

    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w") as handle:
        parser.write(handle)
    os.replace(temporary, path)


def connect_lab(activate: bool = True) -> Lab:
    """The lab to work in: the running one named by DEPLOY_BOT_LAB_DIR, or a new one.

    If DEPLOY_BOT_LAB_DIR names a lab directory with a live emulator (started
    by ``make lab``), reconnect to it; otherwise start an embedded emulator in
    a temporary lab directory. With activate, the lab's environment is applied
    to this process, so ``aws`` commands run from it use the lab.
    """
    lab = None
    lab_dir = os.environ.get(LAB_DIR_VARIABLE)
    if lab_dir:
        info = status(lab_dir)
        if info is not None:
            lab = Lab(Path(lab_dir).resolve(), info.endpoint)
            log.info("reconnected to the emulator at %s", info.endpoint)
        else:
            log.warning("no emulator runs in %s; starting an embedded one", lab_dir)
    if lab is None:
        lab = start_embedded()
        log.info("started an embedded emulator at %s", lab.endpoint)
    if activate:
        lab.activate()
    return lab


# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader.emulator", description="The lab's local AWS emulator."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary in [
        ("serve", "run the emulator in the foreground"),
        ("start", "start a detached emulator and print its endpoint"),
        ("stop", "stop the emulator of a lab directory"),
        ("status", "print the endpoint of a running emulator"),
        ("exec", "start the emulator if needed, then run a command inside the lab"),
    ]:
        command = commands.add_parser(name, help=summary, description=summary)
        command.add_argument(
            "--lab-dir", type=Path, required=True, help="holds emulator.json"
        )
        if name == "exec":
            command.add_argument(
                "program", nargs=argparse.REMAINDER, help="the command and its args"
            )
        if name in ("serve", "start"):
            command.add_argument(
                "--port", type=int, default=0, help="on 127.0.0.1; 0 picks a free one"
            )
            command.add_argument(
                "--verbose", action="store_true", help="log every decision"
            )
        if name == "serve":
            command.add_argument(
                "--parent-pid", type=int, help="exit once this process is gone"
            )
            command.add_argument(
                "--ephemeral", action="store_true", help="remove --lab-dir on exit"
            )
    return parser


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("werkzeug", "moto", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        serve(args.lab_dir, args.port, args.parent_pid, args.ephemeral)
        return 0
    if args.command == "start":
        print(start(args.lab_dir, args.port, args.verbose).endpoint)
        return 0
    if args.command == "exec":
        return _exec_in_lab(args.lab_dir, args.program)
    if args.command == "stop":
        stopped = stop(args.lab_dir)
        print(f"stopped pid {stopped.pid}" if stopped else "not running")
        return 0
    info = status(args.lab_dir)
    print(f"{info.endpoint} pid {info.pid}" if info else "not running")
    return 0 if info else 1


def _exec_in_lab(lab_dir: Path, program: list[str]) -> int:
    """Replace this process with ``program``, run in the lab's environment.

    Everything the program starts inherits the lab: JupyterLab's kernels and
    its terminals alike, so a student's own ``aws`` in a terminal talks to the
    emulator and the lab's files, never to ``~/.aws`` or to AWS.
    """
    if program[:1] == ["--"]:
        program = program[1:]
    if not program:
        raise EmulatorError("exec needs a command to run, e.g. -- jupyter lab")
    info = start(lab_dir)
    lab = Lab(Path(lab_dir).resolve(), info.endpoint)
    lab.write_default_profile()
    sys.stdout.flush()
    os.execvpe(program[0], program, lab.environ())


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, set up logging and run one command."""
    args = _parser().parse_args(argv)
    _configure_logging(getattr(args, "verbose", False))
    try:
        return _run(args)
    except EmulatorNotLoopback as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    except EmulatorError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # Run the importable module, so that its loggers are named grader.emulator.
    from grader.emulator import main as _main

    sys.exit(_main())
