data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  # A subnet lies inside the VPC when its prefix is at least as long as the VPC's and its network
  # address, cut to the VPC's prefix length, is the VPC's network address.
  vpc_prefix = tonumber(split("/", var.vpc_cidr)[1])
  outside_vpc = [
    for cidr in concat([var.web_subnet_cidr], var.db_subnet_cidrs) : cidr
    if !(tonumber(split("/", cidr)[1]) >= local.vpc_prefix &&
    cidrhost(format("%s/%d", cidrhost(cidr, 0), local.vpc_prefix), 0) == cidrhost(var.vpc_cidr, 0))
  ]
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name = "${var.name}-vpc"
  }

  lifecycle {
    precondition {
      condition     = length(local.outside_vpc) == 0
      error_message = "Subnets ${join(", ", local.outside_vpc)} are not inside vpc_cidr ${var.vpc_cidr}."
    }
  }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = "${var.name}-igw"
  }
}

# ---------------------------------------------------------------------------- public (web) subnet

resource "aws_subnet" "web" {
  vpc_id                  = aws_vpc.this.id
  cidr_block              = var.web_subnet_cidr
  availability_zone       = data.aws_availability_zones.available.names[0]
  map_public_ip_on_launch = true

  tags = {
    Name = "${var.name}-web"
  }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }

  tags = {
    Name = "${var.name}-public"
  }
}

resource "aws_route_table_association" "web" {
  subnet_id      = aws_subnet.web.id
  route_table_id = aws_route_table.public.id
}

# ---------------------------------------------------------------------------- private (db) subnets
# No route to the internet gateway: they use the VPC's main route table, which only knows the VPC.

resource "aws_subnet" "db" {
  count = length(var.db_subnet_cidrs)

  vpc_id            = aws_vpc.this.id
  cidr_block        = var.db_subnet_cidrs[count.index]
  availability_zone = data.aws_availability_zones.available.names[count.index]

  tags = {
    Name = "${var.name}-db-${substr("abcdefghij", count.index, 1)}"
  }
}
