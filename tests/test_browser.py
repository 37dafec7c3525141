"""The student's JupyterLab for real: the panel and simulator in Chromium.

One JupyterLab server, with a token, on a free loopback port, serves a copy
of the student release against an emulator started the way ``make lab``
starts it.  Playwright drives Debian's Chromium at /usr/bin/chromium; no
browser is downloaded.  Without that browser the test skips, except in CI
(``CI=true``), where it fails.  The same server answers nbgrader's validate
endpoint, the one the "Validate" button calls.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import requests

from grader import steps
from grader.emulator import Lab, read_info
from grader.task import load_task

REPO = Path(__file__).resolve().parents[1]
RELEASE = REPO / "notebooks" / "deploy-bot"
SOLUTION = REPO / "solutions" / "deploy-bot"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "artifacts" / "browser"
DOCS = REPO / "docs"
TOKEN = "deploy-bot-browser-test"
NOTEBOOK = "deploy-bot/02-write-policy.ipynb"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LISTBUCKET_ON_OBJECT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": "arn:aws:s3:::my-frontend-app-assets/*",
            },
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::my-frontend-app-assets/*",
            },
            {
                "Effect": "Allow",
                "Action": "cloudfront:CreateInvalidation",
                "Resource": "arn:aws:cloudfront::123456789012:distribution/"
                "E1A2B3C4D5E6F7",
            },
        ],
    },
    indent=2,
)


def _policy_cell(book):
    return next(
        c
        for c in book.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "policy"
    )


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(home, lab_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), DEPLOY_BOT_LAB_DIR=str(lab_dir))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    env["JUPYTER_RUNTIME_DIR"] = str(home / "runtime")
    return env


def _emulator(command, lab_dir, env):
    subprocess.run(
        [sys.executable, "-m", "grader.emulator", command, "--lab-dir", str(lab_dir)],
        env=env,
        check=command == "start",
        capture_output=True,
        timeout=60,
    )


def _student_copy(root):
    """The release, with the solution's policy file, as a student's folder."""
    folder = root / "deploy-bot"
    shutil.copytree(RELEASE, folder)
    solution = _policy_cell(nbformat.read(SOLUTION / "02-write-policy.ipynb", 4))
    policy = solution.source.partition("\n")[2]
    (folder / "deploy-bot-policy.json").write_text(policy)
    return folder, policy


def _wait_for_server(url, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.25)
    raise RuntimeError(f"JupyterLab did not answer at {url}")


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """A JupyterLab on the student release, the lab rebuilt up to notebook 04."""
    tmp = tmp_path_factory.mktemp("jupyter")
    home, lab_dir, root = tmp / "home", tmp / "lab", tmp / "root"
    home.mkdir()
    root.mkdir()
    env = _env(home, lab_dir)
    _emulator("start", lab_dir, env)
    folder, policy = _student_copy(root)
    lab = Lab(lab_dir, read_info(lab_dir).endpoint)
    steps.prepare(lab, load_task(folder / "task.json"), steps.STEPS, workdir=folder)

    port = _free_port()
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (tmp / "jupyter.log").open("w")
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{base}/api/status?token={TOKEN}", process)
        yield {"base": base, "root": root, "policy": policy, "log": tmp / "jupyter.log"}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        _emulator("stop", lab_dir, env)


@pytest.mark.slow
def test_validate_endpoint_answers_for_the_student_policy_notebook(jupyter):
    base = jupyter["base"]
    with requests.Session() as http:
        http.get(f"{base}/lab?token={TOKEN}", timeout=30).raise_for_status()
        xsrf = http.cookies.get("_xsrf")
        assert xsrf, "the server set no _xsrf cookie"
        answer = http.post(
            f"{base}/assignments/validate",
            data={"path": NOTEBOOK},
            headers={"X-XSRFToken": xsrf, "Authorization": f"token {TOKEN}"},
            timeout=300,
        )
    answer.raise_for_status()
    result = answer.json()
    assert result["success"] is True, result["value"]
    # The release's skeleton policy grants nothing, so the validator, having
    # run the notebook, reports its policy checks as failing.
    assert result["value"].get("failed"), result["value"]


def _chromium():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    return sync_playwright


def _run_all(page):
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def _set_policy_cell(page, text):
    script = """([text]) => {
        const panel = window.jupyterapp.shell.currentWidget;
        const cell = panel.content.widgets.find(
            c => c.model.getMetadata('nbgrader')?.grade_id === 'policy');
        const magic = '%%writefile deploy-bot-policy.json\\n';
        cell.model.sharedModel.setSource(magic + text);
    }"""
    page.evaluate(script, [text])


def _shot(page, locator, name, docs=None, update=False):
    """Save a screenshot as an artifact; refresh docs/ only when asked or missing."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(SHOTS / name))
    if docs and (update or not (DOCS / docs).exists()):
        DOCS.mkdir(exist_ok=True)
        shutil.copy2(SHOTS / name, DOCS / docs)


@pytest.mark.browser
@pytest.mark.slow
def test_panel_and_simulator_work_in_chromium(jupyter, request):
    update = request.config.getoption("--update-golden")
    sync_playwright = _chromium()
    url = f"{jupyter['base']}/lab/tree/{NOTEBOOK}?token={TOKEN}"
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(url)
            page.wait_for_function(
                "window.jupyterapp?.shell.currentWidget?.sessionContext?.session"
                "?.kernel?.connectionStatus === 'connected'"
            )
            _set_policy_cell(page, jupyter["policy"])
            _run_all(page)

            summary = page.locator(".deploy-bot-panel-summary")
            summary.wait_for()
            page.wait_for_selector('.deploy-bot-panel-summary[data-passed="8"]')
            rows = page.locator(".deploy-bot-checkpoint")
            assert rows.count() == 8
            assert (
                page.locator('.deploy-bot-checkpoint[data-state="pass"]').count() == 8
            )
            _shot(page, page.locator(".deploy-bot-panel"), "panel-pass.png")

            simulator = page.locator(".deploy-bot-simulator")
            simulator.wait_for()
            preset = page.locator(".deploy-bot-sim-preset select")
            label = next(
                o
                for o in preset.locator("option").all_inner_texts()
                if "iam:ListUsers" in o
            )
            preset.select_option(label=label)
            page.locator("button.deploy-bot-sim-send").click()
            lab_answer = page.locator('.deploy-bot-sim-lab [data-state="denied"]')
            lab_answer.wait_for()
            verdict = page.locator(".deploy-bot-sim-verdict").inner_text()
            assert "DENIED (implicit deny" in verdict
            assert (
                "because no identity-based policy allows the iam:ListUsers" in verdict
            )
            assert "The lab denied it" in lab_answer.inner_text()
            _shot(page, simulator, "simulator.png", "simulator.png", update)

            _set_policy_cell(page, LISTBUCKET_ON_OBJECT)
            _run_all(page)
            page.wait_for_selector('.deploy-bot-panel-summary[data-passed="7"]')
            failing = page.locator('.deploy-bot-checkpoint[data-state="fail"]')
            assert failing.count() == 1
            assert failing.get_attribute("data-checkpoint") == "s3_scoped"
            assert failing.get_attribute("data-codes") == "listbucket_on_object_arn"
            assert "✘ 5. s3_scoped: not yet" in failing.inner_text()
            _shot(
                page, page.locator(".deploy-bot-panel"), "panel.png", docs="panel.png"
            )
        finally:
            browser.close()
