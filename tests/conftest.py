"""Fixtures shared by the whole suite: AWS isolation and one lab emulator.

Every test runs with the developer's own AWS settings removed: no AWS_*
variable of theirs is visible, and the SDKs' config and credentials paths
point at files in a temporary directory, so no test can read ``~/.aws``.
One emulator serves the whole run; the ``lab`` fixture resets it and points
the test's environment at it. ``--update-golden`` rewrites golden files.
"""

import os
import shutil
from collections.abc import Callable, Iterator

import pytest

from grader import keys
from grader.emulator import LAB_DIR_VARIABLE, Lab, start_embedded

LOOPBACK_HOSTS = "127.0.0.1,localhost,::1"


def pytest_addoption(parser) -> None:
    """The suite's one switch: rewrite golden files instead of comparing."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the committed golden files from what the code makes now",
    )


@pytest.fixture(scope="session", autouse=True)
def isolated_aws_environment(tmp_path_factory) -> Iterator[None]:
    """Hide the developer's AWS settings from every test."""
    empty = tmp_path_factory.mktemp("no-aws-config")
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            patch.delenv(name)
        patch.delenv(LAB_DIR_VARIABLE, raising=False)
        patch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        no_proxy = os.environ.get("NO_PROXY", "")
        patch.setenv("NO_PROXY", ",".join(filter(None, [no_proxy, LOOPBACK_HOSTS])))
        patch.setenv("no_proxy", os.environ["NO_PROXY"])
        yield


@pytest.fixture(scope="session")
def emulator(tmp_path_factory, isolated_aws_environment) -> Iterator[Lab]:
    """The one emulator of this test run, a child of the test process."""
    lab = start_embedded(tmp_path_factory.mktemp("lab"))
    yield lab
    lab.close()


@pytest.fixture
def lab(emulator: Lab, monkeypatch) -> Lab:
    """The emulator, freshly reset, with this test's environment pointed at it.

    The lab's AWS files start over with only the admin's default profile, and
    its key store is emptied.
    """
    emulator.reset()
    shutil.rmtree(emulator.config_file.parent, ignore_errors=True)
    keys.store_path(emulator.lab_dir).unlink(missing_ok=True)
    emulator.write_default_profile()

    env = emulator.environ()
    for name in [n for n in os.environ if n not in env]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return emulator


@pytest.fixture
def clients(lab: Lab) -> Iterator[Callable]:
    """Make boto3 clients on the lab (admin by default); all closed afterwards."""
    made = []

    def make(service: str, profile: str | None = None):
        client = lab.session(profile).client(service)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
