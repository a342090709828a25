"""Workloads for the embedded cloud: what instances demand of their CPU, and a simulator that
turns that demand into the CloudWatch metrics, Auto Scaling replacements and CodeDeploy
deployments a real class would produce, published through the same AWS APIs real AWS fills."""
