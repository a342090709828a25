locals {
  # The CloudFormation version of this template names things after the stack, sbx-<env id>.
  name = "sbx-${lookup(var.tags, "sandbox:env-id", "local")}"

  # A subnet lies inside the VPC when its prefix is at least as long as the VPC's and its network
  # address, cut to the VPC's prefix length, is the VPC's network address.
  vpc_prefix = tonumber(split("/", var.vpc_cidr)[1])
  subnet_in_vpc = (
    tonumber(split("/", var.public_subnet_cidr)[1]) >= local.vpc_prefix &&
    cidrhost(format("%s/%d", cidrhost(var.public_subnet_cidr, 0), local.vpc_prefix), 0) == cidrhost(var.vpc_cidr, 0)
  )
}

# AMI ids differ per region: read the current one from the public SSM parameter instead.
data "aws_ssm_parameter" "ami" {
  name = var.ami_parameter
}

data "aws_availability_zones" "available" {
  state = "available"
}

# ---------------------------------------------------------------------------- network

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name = "${local.name}-vpc"
  }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id

  tags = {
    Name = "${local.name}-igw"
  }
}

resource "aws_subnet" "public" {
  vpc_id                  = aws_vpc.main.id
  cidr_block              = var.public_subnet_cidr
  availability_zone       = data.aws_availability_zones.available.names[0]
  map_public_ip_on_launch = true

  tags = {
    Name = "${local.name}-public"
  }

  lifecycle {
    precondition {
      condition     = local.subnet_in_vpc
      error_message = "public_subnet_cidr ${var.public_subnet_cidr} is not inside vpc_cidr ${var.vpc_cidr}."
    }
  }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }

  tags = {
    Name = "${local.name}-public"
  }
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

# ---------------------------------------------------------------------------- security group

resource "aws_security_group" "web" {
  name        = "${local.name}-web"
  description = "Web server - HTTP from anywhere, SSH from one address"
  vpc_id      = aws_vpc.main.id

  tags = {
    Name = "${local.name}-web"
  }
}

resource "aws_vpc_security_group_ingress_rule" "http" {
  security_group_id = aws_security_group.web.id
  description       = "HTTP from anywhere"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  security_group_id = aws_security_group.web.id
  description       = "SSH only from the address in ssh_cidr"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = var.ssh_cidr
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.web.id
  description       = "All outbound traffic (package and image downloads)"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

# ---------------------------------------------------------------------------- web server

resource "aws_instance" "web" {
  ami                         = data.aws_ssm_parameter.ami.insecure_value
  instance_type               = var.instance_type
  key_name                    = var.key_name != "" ? var.key_name : null
  subnet_id                   = aws_subnet.public.id
  vpc_security_group_ids      = [aws_security_group.web.id]
  associate_public_ip_address = true

  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    name       = local.name
    site_title = var.site_title
  })
  # Changed user data builds a new instance instead of editing a running one: immutable servers.
  user_data_replace_on_change = true

  credit_specification {
    cpu_credits = "standard"
  }

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  tags = {
    Name = "${local.name}-web"
  }

  # The instance downloads Docker and nginx on first boot: the route to the internet must exist.
  depends_on = [aws_route_table_association.public, aws_internet_gateway.main]
}
