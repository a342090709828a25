variable "name" {
  type        = string
  description = "Prefix of every resource name (sbx-<env id>)."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the database and the cache."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets, in two availability zones, for the DB and cache subnet groups."
}

variable "app_security_group_id" {
  type        = string
  description = "The only security group allowed to reach the database and Redis ports (the web servers')."
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class."
}

variable "db_multi_az" {
  type        = bool
  description = "Whether RDS keeps a standby in the second availability zone."
}

variable "db_allocated_storage" {
  type        = number
  description = "Storage in GiB."
}

variable "db_name" {
  type        = string
  description = "Name of the database created at launch."
}

variable "db_username" {
  type        = string
  description = "Master user name; RDS generates its password and keeps it in Secrets Manager."
}

variable "cache_node_type" {
  type        = string
  description = "ElastiCache node type."
}

variable "cache_nodes" {
  type        = number
  description = "Nodes of the Redis replication group (one primary, the rest replicas)."
}
