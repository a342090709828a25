variable "name" {
  type        = string
  description = "Prefix of every resource name (sbx-<env id>)."
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch Logs keeps the servers' logs."
}

variable "cpu_credit_alarm_threshold" {
  type        = number
  description = "CPU credit balance below which the CPU credit alarm fires."
}

variable "asg_name" {
  type        = string
  description = "Auto Scaling group whose servers' CPU credits are watched."
}

variable "load_balancer_arn_suffix" {
  type        = string
  description = "ARN suffix of the load balancer (the LoadBalancer dimension of its metrics)."
}

variable "target_group_arn_suffix" {
  type        = string
  description = "ARN suffix of the target group (the TargetGroup dimension of its metrics)."
}
