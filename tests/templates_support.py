"""Reading the built-in templates the way a test needs them."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from cfnlint.decode import cfn_yaml

from services.catalog_service import Catalog, TemplateManifest

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "infra_templates"


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return Catalog(TEMPLATES_DIR)


def cfn_document(manifest: TemplateManifest) -> dict[str, Any]:
    # cfn-lint's loader understands the short intrinsic forms (!Ref, !Sub) that yaml.safe_load refuses.
    return cfn_yaml.load(str(manifest.cloudformation_path))


def cfn_parameters(manifest: TemplateManifest) -> dict[str, dict[str, Any]]:
    return dict(cfn_document(manifest).get("Parameters", {}))


__all__ = ["TEMPLATES_DIR", "catalog", "cfn_document", "cfn_parameters", "yaml"]


def hcl_loads(text: str) -> dict[str, Any]:
    """python-hcl2's own parse (its default options), one at a time with the portal's parses:
    a preview warm-up thread may be parsing in this process (services/advisor/terraform_model)."""
    import hcl2

    from services.advisor.terraform_model import HCL_PARSE_LOCK

    with HCL_PARSE_LOCK:
        return hcl2.loads(text)


def hcl_load(path: Path | str) -> dict[str, Any]:
    return hcl_loads(Path(path).read_text())
