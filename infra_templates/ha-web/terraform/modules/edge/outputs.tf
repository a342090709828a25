output "alb_security_group_id" {
  description = "Security group of the load balancer; the web servers admit HTTP only from it."
  value       = aws_security_group.alb.id
}

output "dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "load_balancer_arn_suffix" {
  description = "The load balancer's ARN suffix, the LoadBalancer dimension of its CloudWatch metrics."
  value       = aws_lb.this.arn_suffix
}

output "target_group_arn" {
  description = "ARN of the web servers' target group."
  value       = aws_lb_target_group.app.arn
}

output "target_group_name" {
  description = "Name of the web servers' target group, which CodeDeploy takes servers out of while it updates them."
  value       = aws_lb_target_group.app.name
}

output "target_group_arn_suffix" {
  description = "The target group's ARN suffix, the TargetGroup dimension of its CloudWatch metrics."
  value       = aws_lb_target_group.app.arn_suffix
}

output "web_acl_arn" {
  description = "ARN of the WAF web ACL associated with the load balancer."
  value       = aws_wafv2_web_acl.this.arn
}
