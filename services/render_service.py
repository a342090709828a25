"""Parameter validation against a manifest, and rendering to Terraform and CloudFormation.

Values reach the code only as Terraform variables (`terraform.tfvars`) and CloudFormation
Parameters: the template text is never edited with a user's value in it.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from services.catalog_service import ParameterSpec, TemplateManifest
from services.engines.base import EngineName
from services.errors import ValidationError
from services.i18n import N_, _

# Far above any legitimate value, far below what would bloat a request or the history database.
MAX_VALUE_LENGTH = 256
# Characters that mean something to HCL, YAML, JSON or a shell script. A manifest pattern usually
# rejects them already; this is the net under every string parameter whatever its pattern says.
UNSAFE_CHARACTERS = set("\"'`\\$%{}<>;|&")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}
# A list parameter's items: more would be a mistake, not a template's need.
MAX_LIST_ITEMS = 64
# What rendered code shows instead of a secret parameter's value (CloudFormation shows NoEcho
# values so too).
SECRET_MASK = "****"
NUMBER = re.compile(r"[+-]?(\d{1,15}(\.\d{0,15})?|\.\d{1,15})")
# The shape of each id an AWS-specific CloudFormation parameter type takes. CloudFormation checks
# that the thing exists when the stack is created; these only keep out what cannot be one.
AWS_ID_PATTERNS = {
    "AWS::EC2::VPC::Id": r"vpc-[0-9a-f]{1,32}",
    "AWS::EC2::Subnet::Id": r"subnet-[0-9a-f]{1,32}",
    "AWS::EC2::SecurityGroup::Id": r"sg-[0-9a-f]{1,32}",
    "AWS::EC2::Image::Id": r"ami-[0-9a-f]{1,32}",
    "AWS::EC2::Instance::Id": r"i-[0-9a-f]{1,32}",
    "AWS::EC2::Volume::Id": r"vol-[0-9a-f]{1,32}",
    "AWS::EC2::KeyPair::KeyName": r"[ -~]{1,255}",
    "AWS::EC2::AvailabilityZone::Name": r"[a-z]{2}(-[a-z]+)+-\d[a-z]",
    "AWS::EC2::SecurityGroup::GroupName": r"[ -~]{1,255}",
    "AWS::Route53::HostedZone::Id": r"[A-Z0-9]{1,32}",
}
# An SSM parameter's name, which SSM parameter types (`AWS::SSM::Parameter::Value<...>`) take.
SSM_PARAMETER_NAME = r"/?[A-Za-z0-9_.\-/]{1,1011}"


# The message of a value with unsafe characters: a secret's says only what comes before ":".
UNSAFE_MESSAGE = N_("contains characters that are not allowed here: {characters}")


def _must_be(parameter: ParameterSpec) -> str:
    """The message of a value the parameter does not allow."""
    if parameter.allowed:
        return _("must be one of {values}").format(
            values=", ".join(str(v) for v in parameter.allowed))
    if parameter.pattern:
        if parameter.pattern_message:
            return _("must be {description}").format(description=parameter.pattern_message)
        return _("must be a value matching {pattern}").format(pattern=parameter.pattern)
    return _("must be {type}").format(type=parameter.type)


def _check_text(raw: str) -> str | None:
    if len(raw) > MAX_VALUE_LENGTH:
        return _("is {length} characters long; at most {limit} are accepted").format(
            length=len(raw), limit=MAX_VALUE_LENGTH)
    if CONTROL_CHARACTERS.search(raw):
        return _("contains a line break or control character")
    bad = sorted({c for c in raw if c in UNSAFE_CHARACTERS})
    if bad:
        return _(UNSAFE_MESSAGE).format(characters=" ".join(bad))
    return None


def _number(parameter: ParameterSpec, raw: Any) -> int | float:
    """A number parameter's value (an int when it is whole), within its bounds."""
    if isinstance(raw, bool):
        raise ValueError(_("must be a number"))
    if isinstance(raw, (int, float)):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ValueError(_("must be a number"))
        value: int | float = raw
    else:
        text = str(raw)
        problem = _check_text(text)
        if problem:
            raise ValueError(problem)
        if not NUMBER.fullmatch(text.strip()):
            raise ValueError(_("must be a number"))
        value = float(text) if "." in text else int(text)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        value = int(value)
    if parameter.min is not None and value < parameter.min:
        raise ValueError(_("must be at least {min}").format(min=parameter.min))
    if parameter.max is not None and value > parameter.max:
        raise ValueError(_("must be at most {max}").format(max=parameter.max))
    if parameter.allowed and value not in parameter.allowed:
        raise ValueError(_must_be(parameter))
    return value


def _items(raw: Any) -> list[Any]:
    """A list parameter's items: a list as given, or text split at its commas (the CLI's
    `--param Subnets=subnet-1,subnet-2`, a form's text field)."""
    if isinstance(raw, (list, tuple)):
        items = list(raw)
    elif isinstance(raw, str):
        items = [item.strip() for item in raw.split(",")] if raw.strip() else []
    else:
        raise ValueError(_("must be a list of values"))
    if len(items) > MAX_LIST_ITEMS:
        raise ValueError(_("has {count} items; at most {limit} are accepted").format(
            count=len(items), limit=MAX_LIST_ITEMS))
    return items


def _aws_id(parameter: ParameterSpec, raw: Any) -> str:
    """One id of an AWS-specific type: text of the shape that type's ids take."""
    if not isinstance(raw, str):
        raise ValueError(_("must be text"))
    problem = _check_text(raw)
    if problem:
        raise ValueError(problem)
    aws_type = (parameter.aws_type or "").removeprefix("List<").removesuffix(">")
    if aws_type.startswith("AWS::SSM::Parameter::"):
        shape = SSM_PARAMETER_NAME
        message = _("must be an SSM parameter name such as "
                    "/aws/service/ami-amazon-linux-latest/...")
    else:
        shape = AWS_ID_PATTERNS.get(aws_type, r"[ -~]{1,255}")
        message = _("must be the id of an existing {aws_type}").format(aws_type=aws_type)
    if not re.fullmatch(shape, raw):
        raise ValueError(message)
    return raw


def _one(parameter: ParameterSpec, raw: Any) -> Any:
    """One item of a list or AWS parameter, checked as its own value."""
    if parameter.type == "aws":
        value = _aws_id(parameter, raw)
    elif parameter.item_type == "number":
        return _number(parameter, raw)
    else:
        if not isinstance(raw, str):
            raise ValueError(_("must be text"))
        problem = _check_text(raw)
        if problem:
            raise ValueError(problem)
        value = raw
    if parameter.allowed and value not in parameter.allowed:
        raise ValueError(_must_be(parameter))
    if parameter.pattern and not re.fullmatch(parameter.pattern, value):
        raise ValueError(_must_be(parameter))
    return value


def _coerce(parameter: ParameterSpec, raw: Any) -> Any:
    """The typed value, or raises ValueError with the message for this field."""
    if parameter.type == "number":
        return _number(parameter, raw)
    if parameter.is_list:
        items = _items(raw)
        values = []
        for index, item in enumerate(items, start=1):
            try:
                values.append(_one(parameter, item))
            except ValueError as exc:
                raise ValueError(_("item {index} {message}").format(index=index,
                                                                    message=exc)) from None
        if parameter.type == "aws" and not values:
            raise ValueError(_("is required: pick at least one"))
        return values
    if parameter.type == "aws":
        return _one(parameter, raw)
    if parameter.type == "boolean":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(_("must be true or false"))
    if parameter.type == "integer":
        if isinstance(raw, bool):
            raise ValueError(_("must be a whole number"))
        if isinstance(raw, int):
            value = raw
        else:
            text = str(raw)
            problem = _check_text(text)
            if problem:
                raise ValueError(problem)
            if not re.fullmatch(r"[+-]?\d{1,12}", text.strip()):
                raise ValueError(_("must be a whole number"))
            value = int(text.strip())
        if parameter.min is not None and value < parameter.min:
            raise ValueError(_("must be at least {min}").format(min=parameter.min))
        if parameter.max is not None and value > parameter.max:
            raise ValueError(_("must be at most {max}").format(max=parameter.max))
        if parameter.allowed and value not in parameter.allowed:
            raise ValueError(_must_be(parameter))
        return value

    if not isinstance(raw, str):
        raise ValueError(_("must be text"))
    problem = _check_text(raw)
    if problem:
        raise ValueError(problem)
    if parameter.type == "cidr":
        try:
            network = ipaddress.IPv4Network(raw, strict=True)
        except ValueError as exc:
            raise ValueError(_("is not an IPv4 CIDR block like 10.0.1.0/24 ({error})").format(
                error=exc)) from None
        if "/" not in raw:
            raise ValueError(_("is not a CIDR block: add the prefix length, like /24"))
        return str(network)
    if parameter.max_length is not None and len(raw) > parameter.max_length:
        raise ValueError(_("is longer than {limit} characters").format(
            limit=parameter.max_length))
    if parameter.min_length is not None and len(raw) < parameter.min_length:
        raise ValueError(_("is shorter than {limit} characters").format(
            limit=parameter.min_length))
    if parameter.allowed and raw not in parameter.allowed:
        raise ValueError(_must_be(parameter))
    if parameter.pattern and not re.fullmatch(parameter.pattern, raw):
        raise ValueError(_must_be(parameter))
    return raw


def validate_parameters(manifest: TemplateManifest, given: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for every parameter of `manifest`, defaults filled in.

    Raises ValidationError with one message per bad field, all fields checked at once.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    known = {p.name for p in manifest.parameters}
    for name in given:
        if name not in known:
            errors[str(name)[:64]] = _(
                "unknown parameter for template {template} (known: {known})").format(
                template=manifest.id, known=", ".join(sorted(known)))
    for parameter in manifest.parameters:
        raw = given.get(parameter.name, parameter.default)
        if raw is None:
            errors[parameter.name] = _("is required")
            continue
        try:
            values[parameter.name] = _coerce(parameter, raw)
        except ValueError as exc:
            message = str(exc)
            if parameter.secret and message.startswith(_(UNSAFE_MESSAGE).partition("{")[0]):
                # Refusals are audited: a secret's message must not quote any of it.
                message = message.split(":", 1)[0]
            errors[parameter.name] = message
    for parameter in manifest.parameters:
        if parameter.within and parameter.name in values and parameter.within in values:
            inner = ipaddress.IPv4Network(values[parameter.name])
            outer = ipaddress.IPv4Network(values[parameter.within])
            if not inner.subnet_of(outer):
                errors[parameter.name] = _("{inner} is not inside {within} {outer}").format(
                    inner=inner, within=parameter.within, outer=outer)
                # Either field may be the one to change (a new VPC range leaves the default
                # subnets outside it), so the form marks both.
                errors.setdefault(parameter.within,
                                  _("{outer} does not contain {name} {inner}").format(
                                      outer=outer, name=parameter.name, inner=inner))
    for name, message in _ordering_errors(manifest, values).items():
        errors.setdefault(name, message)
    if errors:
        raise ValidationError(errors)
    _check_overlaps(manifest, values)
    return values


def _ordering_errors(manifest: TemplateManifest, values: Mapping[str, Any]) -> dict[str, str]:
    """A message for every field on either side of a broken `at_most`/`at_least` pair.

    Either side may be the one to change (min_size 5 or max_size 2), so both are marked, like
    `within`; and each message names every field it contradicts, so min_size 5 against
    desired_capacity 2 and max_size 2 says both at once. Pairs with a field that failed its
    own check are skipped: that field already has its message.
    """
    too_high: dict[str, list[str]] = {}
    too_low: dict[str, list[str]] = {}
    for lower, upper in manifest.orderings:
        if lower not in values or upper not in values or values[lower] <= values[upper]:
            continue
        too_high.setdefault(lower, []).append(f"{upper} {values[upper]}")
        too_low.setdefault(upper, []).append(f"{lower} {values[lower]}")
    errors: dict[str, str] = {}
    for parameter in manifest.parameters:
        name = parameter.name
        fields = {"name": name, "value": values.get(name)}
        if name in too_high and name in too_low:
            errors[name] = _("{name} {value} is more than {higher} and less than {lower}").format(
                higher=_joined(too_high[name]), lower=_joined(too_low[name]), **fields)
        elif name in too_high:
            errors[name] = _("{name} {value} is more than {others}").format(
                others=_joined(too_high[name]), **fields)
        elif name in too_low:
            errors[name] = _("{name} {value} is less than {others}").format(
                others=_joined(too_low[name]), **fields)
    return errors


def _joined(items: list[str]) -> str:
    """`a and b and c`, as the language joins them."""
    joined = items[0]
    for item in items[1:]:
        joined = _("{first} and {second}").format(first=joined, second=item)
    return joined


def _check_overlaps(manifest: TemplateManifest, values: dict[str, Any]) -> None:
    """Subnets of one VPC must not overlap each other (AWS refuses the second one)."""
    by_parent: dict[str, list[str]] = {}
    for parameter in manifest.parameters:
        if parameter.within:
            by_parent.setdefault(parameter.within, []).append(parameter.name)
    errors: dict[str, str] = {}
    for siblings in by_parent.values():
        for i, first in enumerate(siblings):
            for second in siblings[i + 1:]:
                a, b = ipaddress.IPv4Network(values[first]), ipaddress.IPv4Network(values[second])
                if a.overlaps(b):
                    errors[second] = _("{second} overlaps {first} {other}").format(
                        second=b, first=first, other=a)
    if errors:
        raise ValidationError(errors)


def hcl_string_literal(value: str) -> str:
    r"""A double-quoted HCL string whose value is exactly `value`.

    `${` and `%{` start interpolation and directives inside HCL strings. Writing their brace as
    the escape `\u007b` keeps both characters while no `${` or `%{` is left in the source; the
    sigil-doubling escape (`$${`) does the same in Terraform but not in every HCL parser.
    """
    out = ['"']
    previous = ""
    for char in value:
        if char == "{" and previous in ("$", "%"):
            out.append("\\u007b")
        elif char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
        previous = char
    return "".join(out) + '"'


def hcl_value(value: Any, *, indent: str = "") -> str:
    """`value` as HCL, laid out as `terraform fmt` writes it; a map's lines are indented one
    level deeper than `indent`, the indentation of the line the value starts on."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(hcl_value(item, indent=indent) for item in value) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        inner = indent + "  "
        lines = _hcl_attributes([(hcl_string_literal(str(k)), v) for k, v in value.items()],
                                indent=inner)
        return "{\n" + "".join(f"{line}\n" for line in lines) + indent + "}"
    return hcl_string_literal(str(value))


def _hcl_attributes(pairs: list[tuple[str, Any]], *, indent: str = "") -> list[str]:
    """`name = value` lines as `terraform fmt` aligns them: the `=` of consecutive one-line
    attributes in one column, while an attribute whose value spans lines (a map) stands alone
    and ends the run (a later run aligns on its own)."""
    rendered = [(name, hcl_value(value, indent=indent)) for name, value in pairs]
    lines: list[str] = []
    run: list[tuple[str, str]] = []

    def close_run() -> None:
        width = max((len(name) for name, _ in run), default=0)
        lines.extend(f"{indent}{name.ljust(width)} = {text}" for name, text in run)
        run.clear()

    for name, text in rendered:
        if "\n" in text:
            close_run()
            lines.append(f"{indent}{name} = {text}")
        else:
            run.append((name, text))
    close_run()
    return lines


def cfn_parameter_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        # CommaDelimitedList and List<...> parameters take their items joined by commas.
        return ",".join(cfn_parameter_value(item) for item in value)
    return str(value)


def masked(manifest: TemplateManifest, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with every secret parameter's value replaced by SECRET_MASK: what may be shown,
    logged, cached or stored. The engines alone get the real values."""
    secret = {p.name for p in manifest.parameters if p.secret}
    return {name: SECRET_MASK if name in secret else value for name, value in values.items()}


@dataclass(frozen=True)
class RenderedTemplate:
    template_id: str
    # Terraform: the module's files by relative path, `terraform.tfvars` included.
    terraform_files: dict[str, str]
    cloudformation_template: str
    # The AWS CLI's parameters file shape: [{"ParameterKey": ..., "ParameterValue": ...}].
    cloudformation_parameters: list[dict[str, str]] = field(default_factory=list)

    @property
    def tfvars(self) -> str:
        return self.terraform_files["terraform.tfvars"]

    @property
    def cloudformation_parameters_json(self) -> str:
        return json.dumps(self.cloudformation_parameters, indent=2) + "\n"

    def terraform_zip(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, text in sorted(self.terraform_files.items()):
                archive.writestr(f"{self.template_id}/{path}", text)
        return buffer.getvalue()

    def cloudformation_zip(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{self.template_id}/cloudformation.yaml", self.cloudformation_template)
            archive.writestr(f"{self.template_id}/parameters.json",
                             self.cloudformation_parameters_json)
        return buffer.getvalue()

    def write(self, out_dir: Path, *, fmt: str) -> list[Path]:
        written: list[Path] = []
        if fmt == "terraform":
            files = self.terraform_files
        else:
            files = {"cloudformation.yaml": self.cloudformation_template,
                     "parameters.json": self.cloudformation_parameters_json}
        for relative, text in files.items():
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            written.append(target)
        return written


def portal_tags(*, env_id: str, owner: str, template_id: str) -> dict[str, str]:
    """The tags every resource of an environment carries; destroy finds leftovers by them."""
    return {"sandbox:env-id": env_id, "sandbox:owner": owner, "sandbox:template": template_id}


def cloudformation_parameters(manifest: TemplateManifest,
                              values: Mapping[str, Any]) -> list[dict[str, str]]:
    return [
        {"ParameterKey": p.cfn_name, "ParameterValue": cfn_parameter_value(values[p.name])}
        for p in manifest.parameters
    ]


def tfvars_text(manifest: TemplateManifest, values: Mapping[str, Any], *, region: str,
                tags: Mapping[str, str]) -> str:
    """The values as `terraform.tfvars`, exactly as `terraform fmt` would leave it."""
    pairs = [(parameter.name, values[parameter.name]) for parameter in manifest.parameters]
    pairs += [(name, value) for name, value in (("region", region), ("tags", dict(tags)))
              if name in manifest.portal_variables]
    lines = [f"# Values for template {manifest.id}; every variable is declared in variables.tf.",
             *_hcl_attributes(pairs)]
    return "\n".join(lines) + "\n"


def terraform_files(manifest: TemplateManifest, values: Mapping[str, Any], *, region: str,
                    tags: Mapping[str, str]) -> dict[str, str]:
    """The Terraform module of `manifest` by relative path, with `terraform.tfvars` for the
    validated `values`; all a Terraform launch needs (a Terraform-only template has no
    cloudformation.yaml)."""
    files: dict[str, str] = {}
    root = manifest.terraform_dir
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and ".terraform" not in path.parts:
            files[path.relative_to(root).as_posix()] = path.read_text()
    files["terraform.tfvars"] = tfvars_text(manifest, values, region=region, tags=tags)
    return files


def render(manifest: TemplateManifest, values: Mapping[str, Any], *, cloudformation_text: str,
           region: str, tags: Mapping[str, str]) -> RenderedTemplate:
    """Render validated `values` for reading; call `validate_parameters` first.

    A secret parameter's value shows as SECRET_MASK: what is rendered here is shown, downloaded
    and checked, never deployed (the engines render their own from the real values). A
    template deployed by CloudFormation alone has no Terraform files.
    """
    shown = masked(manifest, values)
    files = terraform_files(manifest, shown, region=region, tags=tags) \
        if EngineName.TERRAFORM in manifest.engines else {}
    return RenderedTemplate(
        template_id=manifest.id, terraform_files=files, cloudformation_template=cloudformation_text,
        cloudformation_parameters=cloudformation_parameters(manifest, shown),
    )
