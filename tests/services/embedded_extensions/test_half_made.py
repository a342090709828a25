"""What a failed create made before it failed is deleted with it (`half_made`), over HTTP."""

from __future__ import annotations

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, failing_create

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def test_a_rule_whose_target_is_refused_does_not_stay(ctx: PortalContext) -> None:
    # moto puts the rule, then refuses its target: the rule was made and the create failed.
    stack = failing_create(ctx, {"Resources": {"Nightly": {
        "Type": "AWS::Events::Rule", "Properties": {
            "ScheduleExpression": "cron(0 20 * * ? *)",
            "Targets": [{"Id": "report", "Arn": "not-an-arn"}]}}}}, DisableRollback=True)

    assert stack.status == "CREATE_FAILED"
    assert "Provided Arn is not in correct format" in stack.reasons["Nightly"]
    rules = ctx.connection.client("events").list_rules(NamePrefix=stack.name)["Rules"]
    assert rules == []
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
