variable "name" {
  type        = string
  description = "Prefix of every resource name (sbx-<env id>)."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the web servers."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets, in two availability zones, the Auto Scaling group launches servers in."
}

variable "alb_security_group_id" {
  type        = string
  description = "The only security group allowed to reach the servers' HTTP port (the load balancer's)."
}

variable "target_group_arn" {
  type        = string
  description = "Target group the Auto Scaling group registers its servers in."
}

variable "target_group_name" {
  type        = string
  description = "Name of that target group, for CodeDeploy's traffic control."
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the web servers."
}

variable "ami_parameter" {
  type        = string
  description = "Public SSM parameter that holds the AMI id."
}

variable "min_size" {
  type        = number
  description = "Fewest servers the group keeps running."
}

variable "max_size" {
  type        = number
  description = "Most servers the group may run."
}

variable "desired_capacity" {
  type        = number
  description = "Servers to start with."
}

variable "cpu_target" {
  type        = number
  description = "Average CPU utilisation, in percent, that target tracking keeps the group at."
}

variable "db_host" {
  type        = string
  description = "Address of the database, written into the servers' user data."
}

variable "db_port" {
  type        = number
  description = "Port of the database, written into the servers' user data."
}

variable "db_name" {
  type        = string
  description = "Name of the application's database, written into the servers' user data."
}

variable "db_secret_arn" {
  type        = string
  description = "Secret that holds the database password; the servers may read it, their user data names it."
}

variable "cache_host" {
  type        = string
  description = "Address of the Redis primary, written into the servers' user data."
}

variable "cache_port" {
  type        = number
  description = "Port of Redis, written into the servers' user data."
}

variable "log_group_name" {
  type        = string
  description = "Log group the CloudWatch agent ships the servers' logs to."
}
