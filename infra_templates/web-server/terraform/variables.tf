variable "instance_type" {
  type        = string
  description = "EC2 instance type for the web server (burstable; t3 and t3a run in standard CPU credit mode, so they cannot run up surplus credit charges)."
  default     = "t3.micro"

  validation {
    condition     = contains(["t2.micro", "t3.micro", "t3.small", "t3a.micro"], var.instance_type)
    error_message = "instance_type must be one of t2.micro, t3.micro, t3.small, t3a.micro."
  }
}

variable "site_title" {
  type        = string
  description = "Title of the page nginx serves. Letters, digits, spaces and . , _ - only, because it is written into the user data shell script."
  default     = "Hello from my sandbox"

  validation {
    condition     = can(regex("^[A-Za-z0-9 .,_-]+$", var.site_title)) && length(var.site_title) <= 64
    error_message = "site_title may hold only letters, digits, spaces and . , _ - and at most 64 characters."
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

variable "public_subnet_cidr" {
  type        = string
  description = "Address range of the public subnet the web server runs in; must lie inside the VPC range."
  default     = "10.0.1.0/24"

  validation {
    condition     = can(cidrhost(var.public_subnet_cidr, 0)) && can(cidrnetmask(var.public_subnet_cidr))
    error_message = "public_subnet_cidr must be an IPv4 CIDR block such as 10.0.1.0/24."
  }
}

variable "ssh_cidr" {
  type        = string
  description = "Who may connect with SSH (port 22). The default 203.0.113.10/32 is a documentation address that belongs to nobody, so SSH stays closed until you enter your own public IP as x.x.x.x/32. Never use 0.0.0.0/0."
  default     = "203.0.113.10/32"

  validation {
    condition     = can(cidrhost(var.ssh_cidr, 0)) && can(cidrnetmask(var.ssh_cidr))
    error_message = "ssh_cidr must be an IPv4 CIDR block such as 198.51.100.7/32."
  }
}

variable "key_name" {
  type        = string
  description = "Name of an existing EC2 key pair in this region to log in with over SSH. Leave empty to launch without a key pair."
  default     = ""

  validation {
    condition     = can(regex("^([A-Za-z0-9][A-Za-z0-9._-]{0,254})?$", var.key_name)) && length(var.key_name) <= 255
    error_message = "key_name must be empty or a key pair name of letters, digits and . _ - (at most 255 characters)."
  }
}

variable "ami_parameter" {
  type        = string
  description = "Public SSM parameter that holds the AMI id of the operating system (Amazon Linux 2023 by default). It resolves to the right AMI in every region."
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
