"""``python -m grader check``: output, exit codes and errors for people."""

import json
import subprocess
import sys
import types

import pytest

from grader import cli
from grader.task import DEFAULT_TASK_PATH
from tests.policy_cases import CANONICAL, case, policy


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A directory with the task spec, as the assignment ships it."""
    (tmp_path / "task.json").write_text(DEFAULT_TASK_PATH.read_text())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder, text, name="deploy-bot-policy.json"):
    path = folder / name
    path.write_text(text)
    return path


def test_a_passing_policy_exits_0_and_lists_the_checkpoints(workdir, capsys):
    path = write(workdir, policy(*CANONICAL))
    assert cli.main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[PASS] exact_actions" in out and "[PASS] cloudfront_scoped" in out
    assert "deny_delete_bucket" in out


def test_a_failing_policy_exits_1_with_its_diagnoses(workdir, capsys):
    path = write(workdir, case("fail_listbucket_on_object_arn").text)
    assert cli.main(["check", str(path)]) == 1
    assert "listbucket_on_object_arn" in capsys.readouterr().out


def test_malformed_json_is_a_failure_not_a_crash(workdir, capsys):
    path = write(workdir, case("malformed_trailing_comma").text)
    assert cli.main(["check", str(path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["parsed"] is False and data["errors"][0]["line"] == 21


def test_json_output_follows_the_contract(workdir, capsys):
    path = write(workdir, case("fail_bucket_name_prefix_wildcard").text)
    assert cli.main(["check", str(path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["checkpoints"] == {
        "exact_actions": True,
        "s3_scoped": False,
        "cloudfront_scoped": True,
    }
    assert ["s3:ListBucket", "arn:aws:s3:::my-frontend-app-assets-prod"] in data[
        "over_grant"
    ]


def test_a_missing_policy_file_exits_2_naming_the_fix(workdir, capsys):
    assert cli.main(["check", str(workdir / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "does not exist" in err


def test_a_policy_that_is_not_utf8_exits_2(workdir, capsys):
    path = workdir / "deploy-bot-policy.json"
    path.write_bytes(b'{"Sid": "\xe9"}')
    assert cli.main(["check", str(path)]) == 2
    assert "save it as UTF-8" in capsys.readouterr().err


def test_without_a_task_spec_it_exits_2_asking_for_task(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, policy(*CANONICAL))
    assert cli.main(["check", str(path)]) == 2
    assert "pass --task" in capsys.readouterr().err


def test_the_task_spec_beside_the_policy_wins(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "assignment"
    folder.mkdir()
    (folder / "task.json").write_text(DEFAULT_TASK_PATH.read_text())
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", str(write(folder, policy(*CANONICAL)))]) == 0


def test_an_explicit_task_and_a_broken_one(tmp_path, capsys):
    path = write(tmp_path, policy(*CANONICAL))
    assert cli.main(["check", str(path), "--task", str(DEFAULT_TASK_PATH)]) == 0
    broken = write(tmp_path, "{", "task.json")
    capsys.readouterr()
    assert cli.main(["check", str(path), "--task", str(broken)]) == 2
    assert "not JSON" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(["check"])
    assert raised.value.code == 2


def test_sub_commands_can_come_from_other_modules(monkeypatch, capsys):
    module = types.ModuleType("fake_grade_command")
    module.COMMAND = cli.Command(
        name="grade",
        help="grade a class",
        configure=lambda parser: parser.add_argument("course"),
        run=lambda args: 0 if args.course == "ok" else 1,
    )
    monkeypatch.setitem(sys.modules, "fake_grade_command", module)
    monkeypatch.setattr(cli, "COMMAND_MODULES", {"grade": "fake_grade_command"})
    assert [c.name for c in cli.commands()] == ["check", "grade"]
    assert cli.main(["grade", "ok"]) == 0
    assert cli.main(["-v", "grade", "no"]) == 1


def test_check_does_not_import_the_other_sub_commands(workdir, monkeypatch):
    monkeypatch.setattr(cli, "COMMAND_MODULES", {"grade": "no.such.module"})
    assert cli.main(["check", str(write(workdir, policy(*CANONICAL)))]) == 0


def test_python_dash_m_grader_runs_the_cli(workdir):
    path = write(workdir, policy(*CANONICAL))
    done = subprocess.run(
        [sys.executable, "-m", "grader", "-v", "check", str(path), "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=workdir,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["passes"] is True
    assert "INFO grader.report" in done.stderr
