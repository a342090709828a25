variable "name" {
  type        = string
  description = "Prefix of every resource name (sbx-<env id>)."
}

variable "vpc_cidr" {
  type        = string
  description = "Address range of the VPC."
}

variable "public_subnet_cidrs" {
  type        = list(string)
  description = "Address ranges of the public subnets (load balancer, NAT gateway), one per availability zone."

  validation {
    condition     = length(var.public_subnet_cidrs) == 2
    error_message = "An application load balancer needs public subnets in two availability zones."
  }
}

variable "private_subnet_cidrs" {
  type        = list(string)
  description = "Address ranges of the private subnets (web servers, database, cache), one per availability zone."

  validation {
    condition     = length(var.private_subnet_cidrs) == 2
    error_message = "The private tier spans two availability zones: give two subnets."
  }
}

variable "enable_nat_gateway" {
  type        = bool
  description = "Whether the private subnets get a NAT gateway to the internet."
}
