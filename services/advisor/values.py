"""Reading property values the same way whichever source they came from.

CloudFormation hands parameters over as text ("false", "2"); Terraform as typed values or as
`Unknown` when they exist only after apply. These helpers answer None for "cannot tell", so a
rule stays quiet rather than guess.
"""

from __future__ import annotations

from typing import Any

from services.advisor.terraform_model import Unknown


def truthy(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or isinstance(value, Unknown):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def cfn_target(value: Any) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt` points at."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            if isinstance(target, list) and target:
                return str(target[0])
    return None


def number_text(value: float) -> str:
    """12.0 -> "12", 10.5 -> "10.5"."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
