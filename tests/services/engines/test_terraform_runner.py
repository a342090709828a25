"""Terraform's own words for why a command failed, read from its -json diagnostics or, where a
command has no -json (init), from its text."""

from __future__ import annotations

import json

from services.engines.terraform_runner import CommandResult, text_diagnostics

INIT_FAILURE = """
Initializing the backend...
Initializing provider plugins...
- Finding hashicorp/aws versions matching "~> 5.8"...
╷
│ Warning: Unable to open CLI configuration file
│
│ The CLI configuration file at "/nowhere/.terraformrc" does not exist.
╵
╷
│ Error: Failed to query available provider packages
│
│ Could not retrieve the list of available versions for provider
│ hashicorp/aws: provider registry.terraform.io/hashicorp/aws was not found in
│ any of the search locations
│
│   - /srv/plugins
╵
"""


def test_text_diagnostics_are_read_with_or_without_their_frame() -> None:
    for text in (INIT_FAILURE, INIT_FAILURE.replace("│ ", "").replace("╷", "").replace("╵", "")):
        found = text_diagnostics(text)
        assert [(d.severity, d.summary) for d in found] == [
            ("warning", "Unable to open CLI configuration file"),
            ("error", "Failed to query available provider packages")]
        assert "was not found in any of the search locations - /srv/plugins" in found[1].text


def test_the_reason_is_each_error_once_with_its_detail_and_no_warnings() -> None:
    init = CommandResult(("init",), 1, INIT_FAILURE.splitlines(), "")
    assert init.reason().startswith("Failed to query available provider packages: Could not "
                                    "retrieve the list of available versions for provider")
    assert "CLI configuration" not in init.reason()

    def diagnostic(severity: str, summary: str, detail: str) -> str:
        return json.dumps({"type": "diagnostic", "@level": severity, "diagnostic": {
            "severity": severity, "summary": summary, "detail": detail}})

    lines = [diagnostic("warning", "Deprecated", "old"),
             diagnostic("error", "Invalid value for variable", "Too\n  long."),
             diagnostic("error", "Invalid value for variable", "Too\n  long."),
             "not json", diagnostic("error", "execution halted", "")]
    apply = CommandResult(("apply", "-json"), 1, lines, "")
    assert apply.reason() == "Invalid value for variable: Too long.; execution halted"


def test_without_diagnostics_the_reason_is_stderr_or_the_exit() -> None:
    assert CommandResult(("x",), 2, [], "noise\nthe last word\n\n").reason() == "the last word"
    assert CommandResult(("x",), 2, [], "").reason() == "it exited with code 2"
    stopped = CommandResult(("x",), None, [], "", timed_out=True)
    assert not stopped.ok and stopped.reason() == "stopped at its deadline (it did not finish)"
