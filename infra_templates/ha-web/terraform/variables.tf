variable "instance_type" {
  type        = string
  description = "EC2 instance type of the web servers. A t3.micro may use only 10% of its CPU over time; the SSM, CloudWatch and CodeDeploy agents alone can spend its CPU credits, after which it is held at 10%, fails its health checks and is replaced again and again. Choose t3.small or larger for real traffic, or m6i/c6i for steady load (burstable types run in standard credit mode, so they never cost more than their hourly price)."
  default     = "t3.micro"

  validation {
    condition     = contains(["t2.micro", "t3.micro", "t3.small", "t3.medium", "t3a.small", "m6i.large", "c6i.large"], var.instance_type)
    error_message = "instance_type must be one of t2.micro, t3.micro, t3.small, t3.medium, t3a.small, m6i.large, c6i.large."
  }
}

variable "min_size" {
  type        = number
  description = "Fewest web servers the Auto Scaling group keeps running. Must not exceed desired_capacity or max_size."
  default     = 1

  validation {
    condition     = var.min_size >= 1 && var.min_size <= 10 && floor(var.min_size) == var.min_size
    error_message = "min_size must be a whole number from 1 to 10."
  }
}

variable "max_size" {
  type        = number
  description = "Most web servers the Auto Scaling group may run when it scales out. Must be at least min_size and desired_capacity."
  default     = 4

  validation {
    condition     = var.max_size >= 1 && var.max_size <= 10 && floor(var.max_size) == var.max_size
    error_message = "max_size must be a whole number from 1 to 10."
  }
}

variable "desired_capacity" {
  type        = number
  description = "Web servers to start with, between min_size and max_size. Two or more put a server in each availability zone; the CPU target then moves this number up and down."
  default     = 2

  validation {
    condition     = var.desired_capacity >= 1 && var.desired_capacity <= 10 && floor(var.desired_capacity) == var.desired_capacity
    error_message = "desired_capacity must be a whole number from 1 to 10."
  }
}

variable "cpu_target" {
  type        = number
  description = "Average CPU utilisation, in percent, that target-tracking scaling keeps the group at by adding or removing servers. Keep it below a burstable type's baseline (10% for t3.micro, 20% for t3.small) if the servers must not run out of CPU credits."
  default     = 50

  validation {
    condition     = var.cpu_target >= 10 && var.cpu_target <= 90 && floor(var.cpu_target) == var.cpu_target
    error_message = "cpu_target must be a whole number from 10 to 90."
  }
}

variable "health_check_path" {
  type        = string
  description = "URL path the load balancer requests on every server to decide whether it is healthy (HTTP 200 expected). Servers that fail it are taken out of the load balancer and then replaced by the Auto Scaling group. A path starting with / of letters, digits and / _ . - only."
  default     = "/health/"

  validation {
    condition     = can(regex("^/[A-Za-z0-9/_.-]*$", var.health_check_path)) && length(var.health_check_path) <= 255
    error_message = "health_check_path must be a path starting with / of letters, digits and / _ . - (at most 255 characters)."
  }
}

variable "admin_path" {
  type        = string
  description = "URL path of the application's admin pages (Django's is /admin/). The WAF managed rule group AWSManagedRulesAdminProtectionRuleSet answers admin paths with 403; requests that start with this path are exempted from it so your admin pages work, while other admin paths stay blocked. Protect the admin with its own login, and prefer a path that is hard to guess. A path starting with / and at least one more character (letters, digits and / _ . -), at most 200 characters, the limit of a WAF match string."
  default     = "/admin/"

  validation {
    condition     = can(regex("^/[A-Za-z0-9_.-][A-Za-z0-9/_.-]*$", var.admin_path)) && length(var.admin_path) <= 200
    error_message = "admin_path must be a path starting with / and at least one more character, of letters, digits and / _ . - (at most 200 characters)."
  }
}

variable "enable_nat_gateway" {
  type        = bool
  description = "Give the private subnets a NAT gateway to the internet (about 0.045 USD an hour plus traffic, so it is off by default). Without it the web servers reach only S3, through a free gateway endpoint - enough to install Amazon Linux packages and the CodeDeploy and CloudWatch agents, whose downloads live in S3, so servers boot and answer health checks. But the agents cannot reach their AWS APIs, so CodeDeploy deployments, SSM Session Manager and log shipping wait until you turn this on."
  default     = false
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class of the MariaDB database."
  default     = "db.t3.micro"

  validation {
    condition     = contains(["db.t3.micro", "db.t4g.micro", "db.t3.small", "db.m6g.large"], var.db_instance_class)
    error_message = "db_instance_class must be one of db.t3.micro, db.t4g.micro, db.t3.small, db.m6g.large."
  }
}

variable "db_multi_az" {
  type        = bool
  description = "Keep a standby copy of the database in the second availability zone that RDS fails over to automatically. Doubles the database's cost and takes longer to create."
  default     = false
}

variable "db_allocated_storage" {
  type        = number
  description = "Storage of the database in GiB (gp3, encrypted)."
  default     = 20

  validation {
    condition     = var.db_allocated_storage >= 20 && var.db_allocated_storage <= 100 && floor(var.db_allocated_storage) == var.db_allocated_storage
    error_message = "db_allocated_storage must be a whole number from 20 to 100."
  }
}

variable "db_name" {
  type        = string
  description = "Name of the database MariaDB creates at launch; a letter, then up to 15 letters, digits or underscores."
  default     = "education"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,15}$", var.db_name))
    error_message = "db_name must be a letter followed by up to 15 letters, digits or underscores."
  }
}

variable "db_username" {
  type        = string
  description = "Master user name of the database; a letter, then up to 15 letters, digits or underscores. Its password is generated at launch and kept in Secrets Manager, never in a parameter or in the code."
  default     = "appadmin"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,15}$", var.db_username))
    error_message = "db_username must be a letter followed by up to 15 letters, digits or underscores."
  }
}

variable "cache_node_type" {
  type        = string
  description = "ElastiCache node type of the Redis nodes (Celery's broker and Django's cache)."
  default     = "cache.t3.micro"

  validation {
    condition     = contains(["cache.t3.micro", "cache.t4g.micro", "cache.t3.small"], var.cache_node_type)
    error_message = "cache_node_type must be one of cache.t3.micro, cache.t4g.micro, cache.t3.small."
  }
}

variable "cache_nodes" {
  type        = number
  description = "Nodes of the Redis replication group, one primary and the rest replicas. With 2 or more, automatic failover and Multi-AZ are on, so Redis stops being a single point of failure; 1 is cheaper but is one."
  default     = 2

  validation {
    condition     = var.cache_nodes >= 1 && var.cache_nodes <= 3 && floor(var.cache_nodes) == var.cache_nodes
    error_message = "cache_nodes must be a whole number from 1 to 3."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch Logs keeps the application and CodeDeploy agent logs of the web servers."
  default     = 7

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30."
  }
}

variable "cpu_credit_alarm_threshold" {
  type        = number
  description = "The CPU credit alarm fires when any web server's CPU credit balance falls below this many credits (a t3.micro earns 12 an hour and holds at most 288). An empty balance holds the CPU at its baseline."
  default     = 20

  validation {
    condition     = var.cpu_credit_alarm_threshold >= 1 && var.cpu_credit_alarm_threshold <= 500 && floor(var.cpu_credit_alarm_threshold) == var.cpu_credit_alarm_threshold
    error_message = "cpu_credit_alarm_threshold must be a whole number from 1 to 500."
  }
}

variable "vpc_cidr" {
  type        = string
  description = "Address range of the VPC (a private range such as 10.0.0.0/16; AWS accepts /16 to /28)."
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && can(cidrnetmask(var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block such as 10.0.0.0/16."
  }
}

variable "public_subnet_a_cidr" {
  type        = string
  description = "Address range of the public subnet of the load balancer (and NAT gateway) in the first availability zone; must lie inside the VPC range."
  default     = "10.0.1.0/24"

  validation {
    condition     = can(cidrhost(var.public_subnet_a_cidr, 0)) && can(cidrnetmask(var.public_subnet_a_cidr))
    error_message = "public_subnet_a_cidr must be an IPv4 CIDR block such as 10.0.1.0/24."
  }
}

variable "public_subnet_b_cidr" {
  type        = string
  description = "Address range of the public subnet of the load balancer in the second availability zone; must lie inside the VPC range."
  default     = "10.0.2.0/24"

  validation {
    condition     = can(cidrhost(var.public_subnet_b_cidr, 0)) && can(cidrnetmask(var.public_subnet_b_cidr))
    error_message = "public_subnet_b_cidr must be an IPv4 CIDR block such as 10.0.2.0/24."
  }
}

variable "private_subnet_a_cidr" {
  type        = string
  description = "Address range of the private subnet of the web servers, database and cache in the first availability zone; must lie inside the VPC range."
  default     = "10.0.11.0/24"

  validation {
    condition     = can(cidrhost(var.private_subnet_a_cidr, 0)) && can(cidrnetmask(var.private_subnet_a_cidr))
    error_message = "private_subnet_a_cidr must be an IPv4 CIDR block such as 10.0.11.0/24."
  }
}

variable "private_subnet_b_cidr" {
  type        = string
  description = "Address range of the private subnet of the web servers, database and cache in the second availability zone; must lie inside the VPC range."
  default     = "10.0.12.0/24"

  validation {
    condition     = can(cidrhost(var.private_subnet_b_cidr, 0)) && can(cidrnetmask(var.private_subnet_b_cidr))
    error_message = "private_subnet_b_cidr must be an IPv4 CIDR block such as 10.0.12.0/24."
  }
}

variable "ami_parameter" {
  type        = string
  description = "Public SSM parameter that holds the AMI id of the web servers' operating system (Amazon Linux 2023 for x86_64 by default; the user data expects Amazon Linux 2023). It resolves to the right AMI in every region."
  default     = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

  validation {
    condition     = can(regex("^/aws/service/[A-Za-z0-9/_.-]+$", var.ami_parameter))
    error_message = "ami_parameter must be a public SSM parameter path under /aws/service/."
  }
}

# Set by the portal, not shown in its form.

variable "region" {
  type        = string
  description = "AWS region to create the resources in."
  default     = "us-east-1"
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (the portal sets sandbox:env-id, sandbox:owner and sandbox:template)."
  default     = {}
}
