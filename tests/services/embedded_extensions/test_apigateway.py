"""A REST API with its parts made and deleted by a stack (`apigateway`), over HTTP."""

from __future__ import annotations

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def test_an_api_with_a_model_and_a_stage_goes_with_its_stack(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "lab-api"}},
        "Items": {"Type": "AWS::ApiGateway::Resource", "Properties": {
            "RestApiId": {"Ref": "Api"}, "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
            "PathPart": "items"}},
        "ItemModel": {"Type": "AWS::ApiGateway::Model", "Properties": {
            "RestApiId": {"Ref": "Api"}, "ContentType": "application/json",
            "Schema": {"type": "object", "properties": {"name": {"type": "string"}}}}},
        "GetItems": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": {"Ref": "Api"}, "ResourceId": {"Ref": "Items"}, "HttpMethod": "GET",
            "AuthorizationType": "NONE", "Integration": {"Type": "MOCK"}}},
        "Release": {"Type": "AWS::ApiGateway::Deployment", "DependsOn": "GetItems",
                    "Properties": {"RestApiId": {"Ref": "Api"}}},
        "Prod": {"Type": "AWS::ApiGateway::Stage", "Properties": {
            "RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Release"},
            "StageName": "prod", "Variables": {"tier": "lab"}}},
    }, network=False)
    assert stack.status == "CREATE_COMPLETE"
    assert all(stack.ids.values()), "every part has a physical id"
    apigateway = ctx.connection.client("apigateway")
    api_id = stack.ids["Api"]
    assert [m["name"] for m in apigateway.get_models(restApiId=api_id)["items"]] == [
        stack.ids["ItemModel"]]
    stage = apigateway.get_stage(restApiId=api_id, stageName="prod")
    assert (stage["deploymentId"], stage["variables"]) == (stack.ids["Release"], {"tier": "lab"})
    assert stack.ids["Prod"] == "prod"

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert api_id not in {api["id"] for api in apigateway.get_rest_apis()["items"]}
