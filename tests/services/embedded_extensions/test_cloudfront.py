"""CloudFront distributions, origin access controls and cache policies made by a stack
(`cloudfront`), seen through the CloudFront API, over HTTP."""

from __future__ import annotations

import uuid

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def test_a_distribution_in_front_of_a_bucket_and_a_site(ctx: PortalContext) -> None:
    env_id = f"cf-{uuid.uuid4().hex[:8]}"
    stack = launch_stack(ctx, {
        "Site": {"Type": "AWS::S3::Bucket"},
        "Access": {"Type": "AWS::CloudFront::OriginAccessControl", "Properties": {
            "OriginAccessControlConfig": {
                "Name": f"oac-{env_id}", "OriginAccessControlOriginType": "s3",
                "SigningBehavior": "always", "SigningProtocol": "sigv4"}}},
        "Caching": {"Type": "AWS::CloudFront::CachePolicy", "Properties": {
            "CachePolicyConfig": {"Name": f"cache-{env_id}", "DefaultTTL": 60, "MaxTTL": 600,
                                  "MinTTL": 0}}},
        "Cdn": {"Type": "AWS::CloudFront::Distribution", "Properties": {
            "Tags": [{"Key": "course", "Value": "cloud-101"}],
            "DistributionConfig": {
                "Enabled": True, "DefaultRootObject": "index.html", "IPV6Enabled": False,
                "Aliases": [],
                "Origins": [
                    {"Id": "bucket", "DomainName": {"Fn::GetAtt": ["Site", "RegionalDomainName"]},
                     "S3OriginConfig": {},
                     "OriginAccessControlId": {"Fn::GetAtt": ["Access", "Id"]}},
                    {"Id": "site", "DomainName": "www.example.com",
                     "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": "443",
                                            "OriginProtocolPolicy": "https-only",
                                            "OriginSSLProtocols": ["TLSv1.2"]}}],
                "DefaultCacheBehavior": {
                    "TargetOriginId": "bucket", "ViewerProtocolPolicy": "redirect-to-https",
                    "AllowedMethods": ["GET", "HEAD", "OPTIONS"],
                    "CachedMethods": ["GET", "HEAD"],
                    "CachePolicyId": {"Ref": "Caching"}},
                "CacheBehaviors": [{
                    "PathPattern": "/api/*", "TargetOriginId": "site",
                    "ViewerProtocolPolicy": "https-only",
                    "ForwardedValues": {"QueryString": True}}],
            }}},
    }, tags={"sandbox:env-id": env_id}, network=False,
        outputs={"Domain": {"Fn::GetAtt": ["Cdn", "DomainName"]},
                 "Id": {"Fn::GetAtt": ["Cdn", "Id"]},
                 "Url": {"Fn::Sub": "https://${Cdn.DomainName}/"}})

    assert stack.status == "CREATE_COMPLETE"
    distribution_id = stack.ids["Cdn"]
    assert stack.outputs["Id"] == distribution_id
    assert stack.outputs["Domain"].endswith(".cloudfront.net")
    assert stack.outputs["Url"] == f"https://{stack.outputs['Domain']}/"
    cloudfront = ctx.connection.client("cloudfront")
    distribution = cloudfront.get_distribution(Id=distribution_id)["Distribution"]
    assert distribution["DomainName"] == stack.outputs["Domain"]
    config = distribution["DistributionConfig"]
    assert [o["Id"] for o in config["Origins"]["Items"]] == ["bucket", "site"]
    assert config["DefaultCacheBehavior"]["CachePolicyId"] == stack.ids["Caching"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["CacheBehaviors"]["Items"][0]["PathPattern"] == "/api/*"
    tags = cloudfront.list_tags_for_resource(Resource=distribution["ARN"])["Tags"]["Items"]
    assert {"Key": "sandbox:env-id", "Value": env_id} in tags
    assert {"Key": "course", "Value": "cloud-101"} in tags
    control = cloudfront.get_origin_access_control(Id=stack.ids["Access"])[
        "OriginAccessControl"]
    assert control["OriginAccessControlConfig"]["Name"] == f"oac-{env_id}"

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    listed = cloudfront.list_distributions()["DistributionList"].get("Items") or []
    assert distribution_id not in {d["Id"] for d in listed}
    ids = {c["Id"] for c in cloudfront.list_origin_access_controls()[
        "OriginAccessControlList"].get("Items") or []}
    assert stack.ids["Access"] not in ids
