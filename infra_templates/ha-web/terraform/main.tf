locals {
  # The CloudFormation version of this template names things after the stack, sbx-<env id>.
  name = "sbx-${lookup(var.tags, "sandbox:env-id", "local")}"
}

# Network: public subnets (load balancer, NAT) and private subnets (servers, database, cache) in
# two availability zones; a free S3 gateway endpoint; a NAT gateway only when asked for.
module "network" {
  source = "./modules/network"

  name                 = local.name
  vpc_cidr             = var.vpc_cidr
  public_subnet_cidrs  = [var.public_subnet_a_cidr, var.public_subnet_b_cidr]
  private_subnet_cidrs = [var.private_subnet_a_cidr, var.private_subnet_b_cidr]
  enable_nat_gateway   = var.enable_nat_gateway
}

# Edge: the internet-facing load balancer and the WAF web ACL in front of it.
module "edge" {
  source = "./modules/edge"

  name              = local.name
  vpc_id            = module.network.vpc_id
  public_subnet_ids = module.network.public_subnet_ids
  health_check_path = var.health_check_path
  admin_path        = var.admin_path
}

# App: the web servers' Auto Scaling group, the release bucket and CodeDeploy. Where the database
# and cache are goes into the servers' user data through templatefile inside the module.
module "app" {
  source = "./modules/app"

  name                  = local.name
  vpc_id                = module.network.vpc_id
  private_subnet_ids    = module.network.private_subnet_ids
  alb_security_group_id = module.edge.alb_security_group_id
  target_group_arn      = module.edge.target_group_arn
  target_group_name     = module.edge.target_group_name

  instance_type    = var.instance_type
  ami_parameter    = var.ami_parameter
  min_size         = var.min_size
  max_size         = var.max_size
  desired_capacity = var.desired_capacity
  cpu_target       = var.cpu_target

  db_host        = module.data.db_address
  db_port        = module.data.db_port
  db_name        = var.db_name
  db_secret_arn  = module.data.db_secret_arn
  cache_host     = module.data.cache_address
  cache_port     = module.data.cache_port
  log_group_name = module.observability.log_group_name
}

# Data: RDS MariaDB and ElastiCache Redis, each admitting only the web servers' security group.
module "data" {
  source = "./modules/data"

  name                  = local.name
  vpc_id                = module.network.vpc_id
  private_subnet_ids    = module.network.private_subnet_ids
  app_security_group_id = module.app.security_group_id

  db_instance_class    = var.db_instance_class
  db_multi_az          = var.db_multi_az
  db_allocated_storage = var.db_allocated_storage
  db_name              = var.db_name
  db_username          = var.db_username
  cache_node_type      = var.cache_node_type
  cache_nodes          = var.cache_nodes
}

# Observability: the servers' log group and the alarms on CPU credits, 5XX errors and unhealthy hosts.
module "observability" {
  source = "./modules/observability"

  name                       = local.name
  log_retention_days         = var.log_retention_days
  cpu_credit_alarm_threshold = var.cpu_credit_alarm_threshold
  asg_name                   = module.app.asg_name
  load_balancer_arn_suffix   = module.edge.load_balancer_arn_suffix
  target_group_arn_suffix    = module.edge.target_group_arn_suffix
}
