variable "name" {
  type        = string
  description = "Prefix of every resource name (sbx-<env id>)."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the database."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets, in at least two availability zones, for the DB subnet group."
}

variable "allowed_security_group_id" {
  type        = string
  description = "The only security group allowed to reach the database port (the web tier's)."
}

variable "instance_class" {
  type        = string
  description = "RDS instance class."
}

variable "allocated_storage" {
  type        = number
  description = "Storage in GiB."
}

variable "db_name" {
  type        = string
  description = "Name of the database created at launch."
}

variable "username" {
  type        = string
  description = "Master user name; RDS generates its password and keeps it in Secrets Manager."
}
