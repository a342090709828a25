"""AMI ids written into the template: they exist in one region only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from services.advisor.model import AdvisorSubject, Finding, Rule, Severity
from services.advisor.terraform_model import expression_text
from services.i18n import N_, _

# Where an image id goes, per resource type.
_CFN_IMAGE_PATHS: dict[str, tuple[str, ...]] = {
    "AWS::EC2::Instance": ("ImageId",),
    "AWS::EC2::LaunchTemplate": ("LaunchTemplateData", "ImageId"),
    "AWS::AutoScaling::LaunchConfiguration": ("ImageId",),
}
_TF_IMAGE_ATTRIBUTES: dict[str, str] = {
    "aws_instance": "ami",
    "aws_spot_instance_request": "ami",
    "aws_launch_template": "image_id",
    "aws_launch_configuration": "image_id",
}


def _dig(properties: Any, path: tuple[str, ...]) -> Any:
    value = properties
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _is_ami_id(value: Any) -> bool:
    return isinstance(value, str) and value.strip().startswith("ami-")


class RegionalAmiId(Rule):
    """A literal `ami-...` image id: AMI ids are regional, so the same template fails with
    InvalidAMIID.NotFound in every other region, and the id pins one build of the OS that stops
    getting security fixes. The seed lab hit both when it moved from LocalStack to Seoul. A
    public SSM parameter (`/aws/service/ami-amazon-linux-latest/...`) or a `data "aws_ami"`
    lookup resolves the current image of whatever region the launch goes to."""

    id = "ADV006"
    title = N_("AMI id that exists in one region only")
    severity = Severity.WARNING
    fix = N_("Look the image up at launch: a parameter of type "
             "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id> with a public SSM path (or "
             "{{resolve:ssm:...}}) in CloudFormation, data \"aws_ssm_parameter\" or data "
             "\"aws_ami\" in Terraform.")

    def check_cloudformation(self, subject: AdvisorSubject) -> Iterator[Finding]:
        template = subject.cloudformation
        assert template is not None
        declared = template.document.get("Parameters") or {}
        reported: set[str] = set()
        for resource_type, path in _CFN_IMAGE_PATHS.items():
            for resource in template.of_type(resource_type):
                value = _dig(resource.properties, path)
                if not _is_ami_id(value):
                    continue
                raw = _dig(subject.raw_resource(resource.logical_id).get("Properties"), path)
                parameter = raw.get("Ref") if isinstance(raw, dict) else None
                if isinstance(parameter, str) and parameter in declared:
                    if parameter not in reported:
                        reported.add(parameter)
                        yield self._parameter_finding(parameter, value, subject.region)
                    continue
                if isinstance(raw, dict) and "Fn::FindInMap" in raw:
                    message = _("{resource} uses the AMI id {ami} (from a Mappings entry). AMI "
                                "ids are regional: it exists only in the region it was "
                                "registered in (launching in {region}), and it pins one build "
                                "of the operating system.")
                else:
                    message = _("{resource} uses the AMI id {ami}. AMI ids are regional: it "
                                "exists only in the region it was registered in (launching in "
                                "{region}), and it pins one build of the operating system.")
                yield self.finding(
                    message.format(resource=resource.logical_id, ami=value,
                                   region=subject.region),
                    resource=resource.logical_id, source="cloudformation")
        for name, spec in declared.items():
            if name in reported or not isinstance(spec, dict):
                continue
            if spec.get("Type") == "AWS::EC2::Image::Id" and \
                    _is_ami_id(template.parameters.get(name)):
                yield self._parameter_finding(name, template.parameters[name], subject.region)

    def _parameter_finding(self, name: str, value: str, region: str) -> Finding:
        return self.finding(
            _("Parameter {name} is the AMI id {ami}. AMI ids are regional: it exists only in "
              "the region it was registered in (launching in {region}), and it pins one build "
              "of the operating system.").format(name=name, ami=value, region=region),
            resource=name, source="cloudformation")

    def check_terraform(self, subject: AdvisorSubject) -> Iterator[Finding]:
        config = subject.terraform_config
        for resource_type, attribute in _TF_IMAGE_ATTRIBUTES.items():
            for resource in config.resources(resource_type):
                value = resource.value(attribute)
                if not _is_ami_id(value):
                    continue
                raw = expression_text(resource.body.get(attribute))
                if _is_ami_id(raw):
                    message = _("{resource} sets {attribute} to the AMI id {ami}. AMI ids are "
                                "regional: it exists only in the region it was registered in "
                                "(launching in {region}), and it pins one build of the "
                                "operating system.")
                else:
                    # Translators: {expression} is the Terraform expression the id comes from.
                    message = _("{resource} sets {attribute} to the AMI id {ami} (from "
                                "{expression}). AMI ids are regional: it exists only in the "
                                "region it was registered in (launching in {region}), and it "
                                "pins one build of the operating system.")
                yield self.finding(
                    message.format(resource=resource.address, attribute=attribute, ami=value,
                                   expression=raw, region=subject.region),
                    resource=resource.address, source="terraform")
