output "app_url" {
  description = "URL of the application behind the load balancer and WAF (a placeholder page until the first CodeDeploy release)."
  value       = "http://${module.edge.dns_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = module.edge.dns_name
}

output "web_acl_arn" {
  description = "ARN of the WAF web ACL in front of the load balancer."
  value       = module.edge.web_acl_arn
}

output "db_endpoint" {
  description = "Address of the MariaDB database (reachable only from the web servers)."
  value       = module.data.db_address
}

output "db_port" {
  description = "Port of the MariaDB database."
  value       = module.data.db_port
}

output "db_secret_arn" {
  description = "ARN of the Secrets Manager secret in which RDS keeps the database user name and password."
  value       = module.data.db_secret_arn
}

output "cache_endpoint" {
  description = "Address of the Redis primary (reachable only from the web servers)."
  value       = module.data.cache_address
}

output "bundle_bucket" {
  description = "S3 bucket for release bundles (aws deploy push --s3-location s3://BUCKET/app.zip)."
  value       = module.app.bundle_bucket
}

output "codedeploy_application" {
  description = "Name of the CodeDeploy application."
  value       = module.app.codedeploy_application
}

output "deployment_group" {
  description = "Name of the CodeDeploy deployment group of the Auto Scaling group."
  value       = module.app.deployment_group
}

output "asg_name" {
  description = "Name of the Auto Scaling group of the web servers."
  value       = module.app.asg_name
}

output "log_group" {
  description = "CloudWatch Logs group of the web servers' application, CodeDeploy agent and first-boot logs."
  value       = module.observability.log_group_name
}
