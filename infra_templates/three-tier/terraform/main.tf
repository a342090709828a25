locals {
  # The CloudFormation version of this template names things after the stack, sbx-<env id>.
  name = "sbx-${lookup(var.tags, "sandbox:env-id", "local")}"
}

# Network: a public subnet for the web tier, two private subnets (two AZs) for the database.
module "vpc" {
  source = "./modules/vpc"

  name            = local.name
  vpc_cidr        = var.vpc_cidr
  web_subnet_cidr = var.web_subnet_cidr
  db_subnet_cidrs = [var.db_subnet_a_cidr, var.db_subnet_b_cidr]
}

# Web tier: security group and EC2 instance. The db module's outputs (address and port) go into
# the instance's user data through templatefile inside the module.
module "ec2" {
  source = "./modules/ec2"

  name          = local.name
  vpc_id        = module.vpc.vpc_id
  subnet_id     = module.vpc.web_subnet_id
  instance_type = var.instance_type
  ami_parameter = var.ami_parameter
  key_name      = var.key_name
  ssh_cidr      = var.ssh_cidr

  app_title = var.app_title
  db_host   = module.db.address
  db_port   = module.db.port
}

# Database tier: RDS MySQL that admits only the web tier's security group.
module "db" {
  source = "./modules/db"

  name                      = local.name
  vpc_id                    = module.vpc.vpc_id
  subnet_ids                = module.vpc.db_subnet_ids
  allowed_security_group_id = module.ec2.security_group_id
  instance_class            = var.db_instance_class
  allocated_storage         = var.db_allocated_storage
  db_name                   = var.db_name
  username                  = var.db_username
}
