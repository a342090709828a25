"""One name per kind of cloud resource, whichever engine made it.

Monitoring, ownership and the sweeper speak CloudFormation's resource types (the names AWS's own
APIs and the tagging API use); an engine that names them otherwise (Terraform's `aws_instance`)
is read through this table. Only the kinds the portal looks for are listed: a type missing here
is kept in its engine's own words, so nothing is mistaken for something else.
"""

from __future__ import annotations

TERRAFORM_TO_CLOUDFORMATION = {
    "aws_instance": "AWS::EC2::Instance",
    "aws_vpc": "AWS::EC2::VPC",
    "aws_subnet": "AWS::EC2::Subnet",
    "aws_security_group": "AWS::EC2::SecurityGroup",
    "aws_internet_gateway": "AWS::EC2::InternetGateway",
    "aws_route_table": "AWS::EC2::RouteTable",
    "aws_nat_gateway": "AWS::EC2::NatGateway",
    "aws_eip": "AWS::EC2::EIP",
    "aws_launch_template": "AWS::EC2::LaunchTemplate",
    "aws_autoscaling_group": "AWS::AutoScaling::AutoScalingGroup",
    "aws_lb": "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "aws_lb_target_group": "AWS::ElasticLoadBalancingV2::TargetGroup",
    "aws_lb_listener": "AWS::ElasticLoadBalancingV2::Listener",
    "aws_db_instance": "AWS::RDS::DBInstance",
    "aws_db_subnet_group": "AWS::RDS::DBSubnetGroup",
    "aws_elasticache_replication_group": "AWS::ElastiCache::ReplicationGroup",
    "aws_elasticache_subnet_group": "AWS::ElastiCache::SubnetGroup",
    "aws_codedeploy_app": "AWS::CodeDeploy::Application",
    "aws_codedeploy_deployment_group": "AWS::CodeDeploy::DeploymentGroup",
    "aws_s3_bucket": "AWS::S3::Bucket",
    "aws_wafv2_web_acl": "AWS::WAFv2::WebACL",
    "aws_cloudwatch_log_group": "AWS::Logs::LogGroup",
    "aws_cloudwatch_metric_alarm": "AWS::CloudWatch::Alarm",
    "aws_iam_role": "AWS::IAM::Role",
    "aws_iam_instance_profile": "AWS::IAM::InstanceProfile",
    "aws_secretsmanager_secret": "AWS::SecretsManager::Secret",
}


def cloudformation_type(resource_type: str) -> str:
    """The CloudFormation name of `resource_type`; CloudFormation's own names pass through."""
    return TERRAFORM_TO_CLOUDFORMATION.get(resource_type, resource_type)
