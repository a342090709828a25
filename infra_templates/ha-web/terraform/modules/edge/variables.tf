variable "name" {
  type        = string
  description = "Prefix of every resource name (sbx-<env id>)."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the load balancer and its target group."
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Public subnets, in two availability zones, of the internet-facing load balancer."
}

variable "health_check_path" {
  type        = string
  description = "URL path the load balancer requests on every server to decide whether it is healthy."
}

variable "admin_path" {
  type        = string
  description = "URL path of the application's admin pages, exempted from the WAF admin-protection rule group."
}
