"""The words of the shipped price table (`prices.yaml`) that an estimate shows, marked for the
translation catalogs: the extractor reads Python, not YAML.

services/cost_service.py translates each with `_()` where it puts it on an estimate: the region's
name, the services' titles, the units, the usage assumptions and the notes of no-charge types.
A text of a table that is not listed here (a table of one's own) is shown as it is written.
tests/services/test_price_table_texts.py checks that every text of `prices.yaml` is listed.
"""

from __future__ import annotations

from services.i18n import N_

REGION_NAMES = (
    N_("US East (N. Virginia)"),
    N_("Asia Pacific (Seoul)"),
)

SERVICE_TITLES = (
    N_("EC2 instance, on-demand Linux"),
    N_("EBS volume storage"),
    "Application Load Balancer",  # AWS's own name, the same in Korean: not marked
    N_("NAT gateway"),
    N_("Public IPv4 address (in use or idle, charged since February 2024)"),
    N_("RDS DB instance, on-demand"),
    N_("RDS General Purpose storage (MySQL and MariaDB)"),
    N_("RDS Extended Support, years 1 and 2"),
    N_("ElastiCache node, on-demand"),
    "AWS WAF",  # likewise
    N_("S3 Standard storage, first 50 TB"),
    N_("Secrets Manager secret"),
    N_("CloudWatch metric alarm"),
    N_("CloudWatch Logs standard ingestion"),
)

UNITS = (
    N_("DB instance-hour"),
    N_("GB ingested"),
    N_("GB processed"),
    N_("GB-month"),
    N_("LCU-hour"),
    N_("NAT gateway-hour"),
    N_("address-hour"),
    N_("alarm metric-month"),
    N_("instance-hour"),
    N_("load balancer-hour"),
    N_("million requests"),
    N_("node-hour"),
    N_("rule-month"),
    N_("secret-month"),
    N_("vCPU-hour"),
    N_("web ACL-month"),
)

ASSUMPTIONS = (
    N_("1 LCU on average each hour (a class lab's traffic; busy sites use more)"),
    N_("0.1 GB through the NAT gateway each hour (package and agent downloads; about 73 GB a "
       "month)"),
    N_("10,000 requests inspected each hour (students, health probes from outside and bots)"),
    N_("1 GB stored (a few deployment bundles), requests not counted"),
    N_("0.01 GB of logs ingested each hour (about 7.3 GB a month), storage of kept logs not "
       "counted"),
    N_("no root volume size in the template: the AMI's 8 GiB (Amazon Linux 2023)"),
)

NO_CHARGE_NOTES = (
    N_("Auto Scaling is free"),
    N_("CodeDeploy to EC2 instances is free"),
    N_("DB parameter groups are free"),
    N_("DB subnet groups are free"),
    N_("IAM is free"),
    N_("VPCs are free"),
    N_("a launch configuration is free; the instances it starts are counted on their Auto "
       "Scaling group"),
    N_("a launch template is free; the instances it starts are counted on their Auto Scaling "
       "group or instance"),
    N_("an internet gateway is free (data sent out to the internet is billed as data transfer, "
       "not counted here)"),
    N_("associating a web ACL is free"),
    N_("attaching a gateway is free"),
    N_("attaching a secret to a database is free; the secret is counted on its own line"),
    N_("bucket policies are free"),
    N_("cache parameter groups are free"),
    N_("cache subnet groups are free"),
    N_("gateway endpoints (S3 and DynamoDB) are free"),
    N_("key pairs are free"),
    N_("listener rules are part of the load balancer's price (rule evaluations count toward "
       "LCUs)"),
    N_("listeners are part of the load balancer's price"),
    N_("route table associations are free"),
    N_("route tables are free"),
    N_("routes are free"),
    N_("security group rules are free"),
    N_("security groups are free"),
    N_("simple and step scaling policies are free (the alarms that trigger them are counted on "
       "their own lines)"),
    N_("standard-tier parameters are free"),
    N_("subnets are free"),
    N_("target groups are part of the load balancer's price"),
    N_("the association is free; the address is counted on its Elastic IP line"),
)

TABLE_TEXTS = frozenset(REGION_NAMES + SERVICE_TITLES + UNITS + ASSUMPTIONS + NO_CHARGE_NOTES)
