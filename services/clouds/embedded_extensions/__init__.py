"""Fidelity fixes for moto 5.2.5, installed only inside the embedded cloud's process.

One module per AWS service or CloudFormation behaviour. Each fix names the moto behaviour it
corrects and is written so it could be offered to moto itself. They extend or patch moto's own
classes, so they are pinned to the moto version below and refuse to install on another one: a moto
upgrade must re-check each of them. `install()` must run before moto parses its first stack, because
moto caches its CloudFormation type registry (`get_model_list`, `get_model_map`) on first use.
"""

from __future__ import annotations

import importlib

import moto

PINNED_MOTO_VERSION = "5.2.5"

# Installed in this order; a later one may wrap what an earlier one patched.
EXTENSIONS: tuple[str, ...] = (
    "template_reading",
    "intrinsic_functions",
    "ssm_parameters",
    "rds",
    "ec2",
    "security_groups",
    "ec2_network",
    "codedeploy",
    "cloudwatch",
    "autoscaling",
    "elbv2",
    "elb",
    "logs",
    "wafv2",
    "elasticache",
    "secretsmanager",
    "dynamic_references",
    "s3",
    "cloudfront",
    "wait_conditions",
    "apigateway",
    "iam",
    "sns",
    "sqs",
    "kms",
    "resource_deletes",
    "half_made",
    "stack_tags",
    "stack_deletion",  # before stack_events, which wraps the resource delete it installs
    "stack_failure",  # after dynamic_references: an unsupported type fails before it is read
    "stack_events",
)

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    if moto.__version__ != PINNED_MOTO_VERSION:
        raise RuntimeError(
            f"embedded cloud extensions are written for moto {PINNED_MOTO_VERSION}, "
            f"found {moto.__version__}; re-check each extension before changing the pin"
        )
    for name in EXTENSIONS:
        importlib.import_module(f"{__name__}.{name}").install()
    _clear_cloudformation_type_caches()
    _installed = True


def _clear_cloudformation_type_caches() -> None:
    """New CloudFormationModel subclasses are only seen once moto's cached registry is rebuilt."""
    from moto.cloudformation import parsing

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
