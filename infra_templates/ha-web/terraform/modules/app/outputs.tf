output "security_group_id" {
  description = "Security group of the web servers; the database and the cache admit only this group."
  value       = aws_security_group.app.id
}

output "asg_name" {
  description = "Name of the Auto Scaling group of the web servers."
  value       = aws_autoscaling_group.app.name
}

output "bundle_bucket" {
  description = "Name of the S3 bucket for release bundles."
  value       = aws_s3_bucket.bundles.bucket
}

output "codedeploy_application" {
  description = "Name of the CodeDeploy application."
  value       = aws_codedeploy_app.this.name
}

output "deployment_group" {
  description = "Name of the CodeDeploy deployment group."
  value       = aws_codedeploy_deployment_group.web.deployment_group_name
}
