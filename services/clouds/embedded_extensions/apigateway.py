"""API Gateway: REST APIs and their parts deleted with their stack; models and stages made.

moto's AWS::ApiGateway::RestApi, Resource, Method and Deployment have no CloudFormation delete,
so `delete_stack` passed over them and every API a template made stayed. AWS::ApiGateway::Model
and AWS::ApiGateway::Stage, in AWS's sample of an API in front of a Lambda function, were not
modelled. Here each part is deleted through moto's API Gateway backend (a part whose API went
first is gone with it, as on AWS), and models and stages are made and deleted the same way:
a model's `Ref` is its name, a stage's its stage name. moto's AWS::ApiGateway::Method read its
integration's `IntegrationHttpMethod` and `Uri` as required and nothing else of it: a MOCK
integration (which has neither), or a method without one, failed inside moto. It is made here
with its integration, method responses and integration responses, as the API would.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel


def _backend(account_id: str, region_name: str) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[account_id][region_name]


def _api(account_id: str, region_name: str, api_id: str | None) -> Any:
    return _backend(account_id, region_name).apis.get(api_id) if api_id else None


def _method_is_made_with_its_integration() -> None:
    from moto.apigateway.models import Method

    def create_from_cloudformation_json(cls: Any, resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str, **kwargs: Any) -> Method:
        properties = cloudformation_json.get("Properties") or {}
        backend = _backend(account_id, region_name)
        api_id, resource_id = properties["RestApiId"], properties["ResourceId"]
        verb = properties["HttpMethod"]
        method = backend.put_method(
            function_id=api_id, resource_id=resource_id, method_type=verb,
            authorization_type=properties.get("AuthorizationType", "NONE"),
            api_key_required=properties.get("ApiKeyRequired"),
            request_parameters=properties.get("RequestParameters"),
            request_models=properties.get("RequestModels"),
            operation_name=properties.get("OperationName"),
            authorizer_id=properties.get("AuthorizerId"),
            authorization_scopes=properties.get("AuthorizationScopes"),
            request_validator_id=properties.get("RequestValidatorId"))
        for response in properties.get("MethodResponses") or []:
            backend.put_method_response(api_id, resource_id, verb, str(response["StatusCode"]),
                                        response.get("ResponseModels"),
                                        response.get("ResponseParameters"))
        integration = properties.get("Integration")
        if integration:
            backend.put_integration(
                function_id=api_id, resource_id=resource_id, method_type=verb,
                integration_type=integration["Type"], uri=integration.get("Uri", ""),
                integration_method=integration.get("IntegrationHttpMethod", verb),
                credentials=integration.get("Credentials"),
                request_templates=integration.get("RequestTemplates"),
                passthrough_behavior=integration.get("PassthroughBehavior"),
                request_parameters=integration.get("RequestParameters"),
                content_handling=integration.get("ContentHandling"),
                connection_type=integration.get("ConnectionType"))
            for response in integration.get("IntegrationResponses") or []:
                backend.put_integration_response(
                    api_id, resource_id, verb, str(response["StatusCode"]),
                    response.get("SelectionPattern", ""), response.get("ResponseTemplates"),
                    response.get("ResponseParameters"), response.get("ContentHandling"))
        # What its delete needs, and the physical id `Ref` gives on AWS (a generated name).
        method.rest_api_id, method.resource_id = api_id, resource_id
        method.physical_id = resource_name
        return method

    Method.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)


def _deployments_remember_their_api() -> None:
    """A deployment does not know which API it belongs to in moto, which its delete needs. Nor
    had it, or a method, a physical id."""
    from moto.apigateway.models import Deployment, Method

    original = Deployment.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(cls: Any, resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str, **kwargs: Any) -> Deployment:
        deployment = original(cls, resource_name, cloudformation_json, account_id, region_name,
                              **kwargs)
        deployment.rest_api_id = (cloudformation_json.get("Properties") or {}).get("RestApiId")
        deployment.physical_id = deployment.id
        return deployment

    Deployment.create_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        create_from_cloudformation_json)
    for model in (Deployment, Method):
        model.physical_resource_id = property(  # type: ignore[attr-defined]
            lambda self: getattr(self, "physical_id", ""))


def _parts_are_deleted() -> None:
    from moto.apigateway.models import Deployment, Method, Resource, RestAPI

    def delete_api(self: RestAPI, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).apis.pop(self.id, None)

    def delete_resource(self: Resource, account_id: str, region_name: str) -> None:
        api = _api(account_id, region_name, self.api_id)
        if api is not None:
            api.resources.pop(self.id, None)

    def delete_method(self: Method, account_id: str, region_name: str) -> None:
        api = _api(account_id, region_name, getattr(self, "rest_api_id", None))
        resource = api.resources.get(getattr(self, "resource_id", None)) if api else None
        if resource is not None:
            resource.resource_methods.pop(self.http_method, None)

    def delete_deployment(self: Deployment, account_id: str, region_name: str) -> None:
        api = _api(account_id, region_name, getattr(self, "rest_api_id", None))
        if api is None:
            return
        api.deployments.pop(self.id, None)
        for name, stage in list(api.stages.items()):
            if getattr(stage, "deployment_id", None) == self.id:
                del api.stages[name]

    RestAPI.delete = delete_api  # type: ignore[attr-defined]
    Resource.delete = delete_resource  # type: ignore[attr-defined]
    Method.delete = delete_method  # type: ignore[attr-defined]
    Deployment.delete = delete_deployment  # type: ignore[attr-defined]


class _ApiPart:
    """What a model and a stage share. A mixin, not a model: moto's type registry reads only
    the direct subclasses of CloudFormationModel."""

    def __init__(self, api_id: str, name: str) -> None:
        self.api_id = api_id
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False


class ApiGatewayModel(_ApiPart, CloudFormationModel):
    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Model"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> ApiGatewayModel:
        properties = cloudformation_json.get("Properties") or {}
        schema = properties.get("Schema") or {}
        # A generated name must be alphanumeric for API Gateway.
        name = "".join(c for c in resource_name if c.isalnum())
        _backend(account_id, region_name).create_model(
            properties["RestApiId"], name, properties.get("ContentType", "application/json"),
            properties.get("Description", ""),
            schema if isinstance(schema, str) else json.dumps(schema))
        return cls(properties["RestApiId"], name)

    def delete(self, account_id: str, region_name: str) -> None:
        api = _api(account_id, region_name, self.api_id)
        if api is not None:
            api.models.pop(self.name, None)


class ApiGatewayStage(_ApiPart, CloudFormationModel):
    @staticmethod
    def cloudformation_name_type() -> str:
        return "StageName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> ApiGatewayStage:
        properties = cloudformation_json.get("Properties") or {}
        _backend(account_id, region_name).create_stage(
            properties["RestApiId"], resource_name, properties.get("DeploymentId"),
            variables=properties.get("Variables") or {},
            description=properties.get("Description", ""),
            tags={t["Key"]: t["Value"] for t in properties.get("Tags") or []})
        return cls(properties["RestApiId"], resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        api = _api(account_id, region_name, self.api_id)
        if api is not None:
            api.stages.pop(self.name, None)


def install() -> None:
    _method_is_made_with_its_integration()
    _deployments_remember_their_api()
    _parts_are_deleted()
