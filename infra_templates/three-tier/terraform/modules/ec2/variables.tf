variable "name" {
  type        = string
  description = "Prefix of every resource name (sbx-<env id>)."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the web tier."
}

variable "subnet_id" {
  type        = string
  description = "Public subnet the web server runs in."
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the web server."
}

variable "ami_parameter" {
  type        = string
  description = "Public SSM parameter that holds the AMI id."
}

variable "key_name" {
  type        = string
  description = "EC2 key pair name, or empty for none."
  default     = ""
}

variable "ssh_cidr" {
  type        = string
  description = "Address range allowed to connect with SSH."
}

variable "app_title" {
  type        = string
  description = "Title the Flask app shows."
}

variable "db_host" {
  type        = string
  description = "Address of the database, written into the web server's user data."
}

variable "db_port" {
  type        = number
  description = "Port of the database, written into the web server's user data."
}
