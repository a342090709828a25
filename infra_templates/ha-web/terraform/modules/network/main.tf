data "aws_availability_zones" "available" {
  state = "available"
}

data "aws_region" "current" {}

locals {
  # A subnet lies inside the VPC when its prefix is at least as long as the VPC's and its network
  # address, cut to the VPC's prefix length, is the VPC's network address.
  vpc_prefix = tonumber(split("/", var.vpc_cidr)[1])
  outside_vpc = [
    for cidr in concat(var.public_subnet_cidrs, var.private_subnet_cidrs) : cidr
    if !(tonumber(split("/", cidr)[1]) >= local.vpc_prefix &&
    cidrhost(format("%s/%d", cidrhost(cidr, 0), local.vpc_prefix), 0) == cidrhost(var.vpc_cidr, 0))
  ]
  zone_letters = "abcdefghij"
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

# ---------------------------------------------------------------------------- public subnets
# They hold only the load balancer (and the NAT gateway): nothing there needs an address of its
# own, so instances launched in them get no public IP.

resource "aws_subnet" "public" {
  count = length(var.public_subnet_cidrs)

  vpc_id            = aws_vpc.this.id
  cidr_block        = var.public_subnet_cidrs[count.index]
  availability_zone = data.aws_availability_zones.available.names[count.index]

  tags = {
    Name = "${var.name}-public-${substr(local.zone_letters, count.index, 1)}"
  }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = "${var.name}-public"
  }
}

resource "aws_route" "public_default" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = length(aws_subnet.public)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# ---------------------------------------------------------------------------- private subnets
# One route table for both: the S3 endpoint always, the NAT gateway when it is on.

resource "aws_subnet" "private" {
  count = length(var.private_subnet_cidrs)

  vpc_id            = aws_vpc.this.id
  cidr_block        = var.private_subnet_cidrs[count.index]
  availability_zone = data.aws_availability_zones.available.names[count.index]

  tags = {
    Name = "${var.name}-private-${substr(local.zone_letters, count.index, 1)}"
  }
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = "${var.name}-private"
  }
}

resource "aws_route_table_association" "private" {
  count = length(aws_subnet.private)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

# A NAT gateway is billed every hour it exists, so it is optional. One gateway, in the first zone,
# serves both private subnets: one per zone would survive the loss of a zone but doubles the bill,
# and the service keeps running without outbound internet anyway.
resource "aws_eip" "nat" {
  count = var.enable_nat_gateway ? 1 : 0

  domain = "vpc"

  tags = {
    Name = "${var.name}-nat"
  }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = var.enable_nat_gateway ? 1 : 0

  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id

  tags = {
    Name = "${var.name}-nat"
  }
}

resource "aws_route" "private_default" {
  count = var.enable_nat_gateway ? 1 : 0

  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[0].id
}

# A gateway endpoint is free. Amazon Linux 2023's package repositories and the CodeDeploy agent's
# installer and release bundles all live in S3, so servers boot and install without NAT.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]

  tags = {
    Name = "${var.name}-s3"
  }
}
