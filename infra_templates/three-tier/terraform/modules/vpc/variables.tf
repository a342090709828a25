variable "name" {
  type        = string
  description = "Prefix of every resource name (sbx-<env id>)."
}

variable "vpc_cidr" {
  type        = string
  description = "Address range of the VPC."
}

variable "web_subnet_cidr" {
  type        = string
  description = "Address range of the public subnet of the web tier."
}

variable "db_subnet_cidrs" {
  type        = list(string)
  description = "Address ranges of the private database subnets, one per availability zone."

  validation {
    condition     = length(var.db_subnet_cidrs) >= 2
    error_message = "RDS needs database subnets in at least two availability zones."
  }
}
