"""`sandbox` on the command line, run as a user runs it: a subprocess of the installed script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.templates_support import hcl_load

SANDBOX = str(Path(sys.executable).parent / "sandbox")

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SANDBOX, *args], capture_output=True, text=True, timeout=180,
                          env=os.environ.copy())


def test_templates_json_lists_ids_titles_and_parameters(portal_env: dict[str, str]) -> None:
    result = run("templates", "--json")
    assert result.returncode == 0, result.stderr
    templates = {t["id"]: t for t in json.loads(result.stdout)}
    assert {"web-server", "three-tier"} <= set(templates)
    parameter = templates["web-server"]["parameters"][0]
    assert {"name", "type", "default"} <= set(parameter)
    assert templates["web-server"]["title"]


@pytest.mark.parametrize("fmt", ["terraform", "cloudformation"])
def test_render_writes_files(portal_env: dict[str, str], tmp_path: Path, fmt: str) -> None:
    result = run("render", "web-server", "--format", fmt, "--param", "instance_type=t3.small",
                 "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    if fmt == "terraform":
        tfvars = hcl_load(tmp_path / "terraform.tfvars")
        assert tfvars["instance_type"] == '"t3.small"'
        assert (tmp_path / "variables.tf").exists()
    else:
        params = json.loads((tmp_path / "parameters.json").read_text())
        assert {"ParameterKey": "InstanceType", "ParameterValue": "t3.small"} in params
        assert (tmp_path / "cloudformation.yaml").exists()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["render", "nope", "--format", "terraform", "--out", "x"], "template"),
        (["launch", "web-server", "--owner", "a", "--param", "colour=red"], "colour"),
        (["launch", "web-server", "--owner", "a", "--param", "vpc_cidr=300.0.0.0/16"], "vpc_cidr"),
        (["launch", "web-server", "--owner", "a", "--param", "instance_type=x1e.32xlarge"],
         "instance_type"),
        (["launch", "web-server", "--owner", "a", "--param", "novalue"], "param"),
        (["launch", "web-server", "--owner", "bad name!"], "name"),
        (["launch", "web-server", "--owner", "a", "--course", "no-such-course"], "course"),
        (["launch", "web-server", "--owner", "a", "--lease-hours", "0"], "lease_hours"),
        (["status", "doesnotexist"], "environment"),
        (["lease", "extend", "doesnotexist", "--hours", "2"], "environment"),
        (["lease", "end", "doesnotexist"], "environment"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line_naming_the_field(
        portal_env: dict[str, str], args: list[str], field: str) -> None:
    result = run(*args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert field in lines[0]
    envs = json.loads(run("envs", "--json").stdout)
    assert all(e["status"] != "ready" for e in envs)


def test_launch_status_destroy_envs(portal_env: dict[str, str]) -> None:
    launched = run("launch", "web-server", "--owner", "carol", "--param", "site_title=Carol lab",
                   "--json")
    assert launched.returncode == 0, launched.stderr
    data = json.loads(launched.stdout)
    assert data["status"] == "ready"
    assert data["outputs"]["web_url"].startswith("http://")
    env_id = data["env_id"]

    status = json.loads(run("status", env_id, "--json").stdout)
    assert status["status"] == "ready"
    assert any(r["type"] == "AWS::EC2::Instance" for r in status["resources"])

    envs = json.loads(run("envs", "--json").stdout)
    assert {"env_id": env_id, "status": "ready"}.items() <= next(
        e for e in envs if e["env_id"] == env_id).items()

    destroyed = run("destroy", env_id, "--json")
    assert destroyed.returncode == 0, destroyed.stderr
    result = json.loads(destroyed.stdout)
    assert result["status"] == "destroyed" and result["leftovers"] == []

    # The operator did both, for carol, in the portal's default course.
    entries = json.loads(run("audit", "--json", "--course", "default").stdout)
    assert [(e["action"], e["actor"], e["outcome"], e["target"]) for e in entries] == [
        ("destroy", "operator", "succeeded", env_id), ("launch", "operator", "succeeded", env_id)]
    assert "web-server" in entries[1]["detail"] and "for carol" in entries[1]["detail"]


def test_lease_extend_and_end(portal_env: dict[str, str]) -> None:
    launched = run("launch", "web-server", "--owner", "dora", "--lease-hours", "2", "--json")
    assert launched.returncode == 0, launched.stderr
    env_id = json.loads(launched.stdout)["env_id"]
    before = json.loads(run("status", env_id, "--json").stdout)["expires_at"]

    extended = run("lease", "extend", env_id, "--hours", "3", "--json")

    assert extended.returncode == 0, extended.stderr
    data = json.loads(extended.stdout)
    assert data["lease_hours"] == 5 and data["status"] == "ready"
    moved = datetime.fromisoformat(data["expires_at"]) - datetime.fromisoformat(before)
    assert abs(moved - timedelta(hours=3)) < timedelta(minutes=1)
    too_long = run("lease", "extend", env_id, "--hours", "100000")
    assert too_long.returncode == 2 and "hours" in too_long.stderr
    assert len(too_long.stderr.strip().splitlines()) == 1

    ended = run("lease", "end", env_id, "--json")

    assert ended.returncode == 0, ended.stderr
    assert json.loads(ended.stdout)["status"] == "destroyed"
    again = run("lease", "end", env_id)
    assert again.returncode == 2 and env_id in again.stderr
    entries = json.loads(run("audit", "--json", "--actor", "operator").stdout)
    assert [(e["action"], e["outcome"]) for e in entries if e["action"] != "launch"] == [
        ("lease.end", "succeeded"), ("lease.extend", "refused"), ("lease.extend", "succeeded")]


def test_diagram_prints_dot_and_json_with_the_templates_references(
        portal_env: dict[str, str]) -> None:
    result = run("diagram", "three-tier")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("digraph")
    assert "subgraph cluster_data" in result.stdout
    data = json.loads(run("diagram", "three-tier", "--json").stdout)
    assert {"source": "Database", "target": "DbSubnetGroup", "kind": "Ref"} in data["edges"]
    assert {n["id"] for n in data["nodes"]} >= {"Vpc", "WebServer", "Database"}


def test_diagram_of_an_unknown_template_is_a_one_line_error(portal_env: dict[str, str]) -> None:
    result = run("diagram", "no-such-template")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "no-such-template" in result.stderr


def test_estimate_json_has_a_line_per_priced_resource_and_their_total(
        portal_env: dict[str, str]) -> None:
    result = run("estimate", "three-tier", "--param", "instance_type=t3.small",
                 "--region", "ap-northeast-2", "--hours", "10", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["region"], data["hours"]) == ("ap-northeast-2", 10)
    assert {"resource", "unit_price_usd", "cost_usd"} <= set(data["lines"][0])
    assert data["total_usd"] == pytest.approx(sum(line["cost_usd"] for line in data["lines"]))
    assert data["total_usd"] == pytest.approx(10 * data["total_hourly_usd"])
    assert any("t3.small" in line["description"] for line in data["lines"])


@pytest.mark.parametrize(("args", "field"), [
    (["--region", "eu-west-1"], "region"),
    (["--hours", "0"], "hours"),
    (["--param", "instance_type=m5.24xlarge"], "instance_type"),
])
def test_estimate_refuses_bad_input_in_one_line_naming_the_field(
        portal_env: dict[str, str], args: list[str], field: str) -> None:
    result = run("estimate", "web-server", *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and field in result.stderr


def test_advise_lists_findings_and_exits_non_zero_when_one_blocks_the_launch(
        portal_env: dict[str, str]) -> None:
    clean = run("advise", "ha-web", "--json")
    assert clean.returncode == 0, clean.stderr
    findings = json.loads(clean.stdout)
    assert {"ADV001", "ADV004"} <= {f["id"] for f in findings}
    assert all({"id", "severity", "message", "fix"} <= set(f) for f in findings)
    assert "error" not in {f["severity"] for f in findings}

    open_ssh = run("advise", "web-server", "--param", "ssh_cidr=0.0.0.0/0", "--json")
    assert open_ssh.returncode == 1
    assert any(f["id"] == "ADV003" and f["severity"] == "error"
               for f in json.loads(open_ssh.stdout))


def test_a_launch_the_advisor_blocks_creates_nothing(portal_env: dict[str, str]) -> None:
    result = run("launch", "web-server", "--owner", "alice", "--param", "ssh_cidr=0.0.0.0/0")
    assert result.returncode == 2
    assert "ADV003" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert json.loads(run("envs", "--json").stdout) == []


def test_predict_credits_json_gives_the_hourly_balance_and_when_throttling_starts(
        portal_env: dict[str, str]) -> None:
    # A t3.micro earns 12 credits an hour and at 20% spends 24: 30 credits last 2.5 hours.
    result = run("predict-credits", "--instance-type", "t3.micro", "--cpu", "20", "--hours", "6",
                 "--start-balance", "30", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["throttled_at_hour"] == 2.5
    assert [h["balance"] for h in data["hours"]] == [18, 6, 0, 0, 0, 0]
    assert [h["effective_cpu"] for h in data["hours"]][3:] == [10, 10, 10]
    unlimited = json.loads(run("predict-credits", "--instance-type", "t3.micro", "--cpu", "20",
                               "--hours", "6", "--start-balance", "30", "--unlimited",
                               "--json").stdout)
    assert unlimited["throttled_at_hour"] is None and unlimited["hours"][-1]["surplus_balance"] > 0


@pytest.mark.parametrize(("args", "field"), [
    (["--instance-type", "m6i.large", "--cpu", "5"], "instance_type"),
    (["--instance-type", "t3.micro", "--cpu", "120"], "cpu_percent"),
    (["--instance-type", "t3.micro", "--cpu", "5", "--start-balance", "500"], "start_balance"),
])
def test_predict_credits_refuses_bad_input_in_one_line_naming_the_field(
        portal_env: dict[str, str], args: list[str], field: str) -> None:
    result = run("predict-credits", *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and field in result.stderr


def test_engines_json_lists_each_engine_with_available_and_reason(
        portal_env: dict[str, str]) -> None:
    result = run("engines", "--json")
    assert result.returncode == 0, result.stderr
    engines = {e["engine"]: e for e in json.loads(result.stdout)}
    assert set(engines) == {"cloudformation", "terraform"}
    assert engines["cloudformation"]["available"] and engines["cloudformation"]["reason"] is None
    web_server = engines["terraform"]["templates"]["web-server"]
    assert web_server["available"] is False and "providers mirror" in web_server["reason"]


def test_launch_with_an_engine_that_cannot_deploy_exits_2_recording_nothing(
        portal_env: dict[str, str]) -> None:
    result = run("launch", "web-server", "--owner", "alice", "--engine", "terraform")
    assert result.returncode == 2
    assert result.stderr.startswith("sandbox: error: engine: terraform is not available here")
    listed = run("envs", "--json")
    assert json.loads(listed.stdout) == []


def test_estimate_and_diagram_of_a_terraform_only_template_read_its_module(
        portal_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "templates"
    monkeypatch.setenv("PORTAL_TEMPLATES_DIR", str(fixtures))
    estimate = run("estimate", "terraform-only", "--json")
    assert estimate.returncode == 0, estimate.stderr
    data = json.loads(estimate.stdout)
    # Its resources are terraform_data: nothing the price table charges for.
    assert data["total_usd"] == 0
    diagram = run("diagram", "terraform-only", "--json")
    assert diagram.returncode == 0, diagram.stderr
    # terraform_data makes nothing in a cloud: there is no architecture to draw.
    assert json.loads(diagram.stdout) == {"nodes": [], "edges": []}
