# ---------------------------------------------------------------------------- security groups
# A security group as the source, never an address range: only the web servers get in.

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "Database - MariaDB only from the web servers security group"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${var.name}-db"
  }
}

resource "aws_vpc_security_group_ingress_rule" "mariadb_from_app" {
  security_group_id            = aws_security_group.db.id
  description                  = "MariaDB from the web servers"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = var.app_security_group_id
}

# AWS gives a new security group an allow-all egress rule and the CloudFormation version of this
# template keeps it; the Terraform provider removes it unless it is written out. Written out here
# (and for the cache) so both versions build the same group.
resource "aws_vpc_security_group_egress_rule" "db_all" {
  security_group_id = aws_security_group.db.id
  description       = "All outbound traffic (the default of a new security group)"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "cache" {
  name        = "${var.name}-cache"
  description = "Cache - Redis only from the web servers security group"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${var.name}-cache"
  }
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_app" {
  security_group_id            = aws_security_group.cache.id
  description                  = "Redis from the web servers"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = var.app_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "cache_all" {
  security_group_id = aws_security_group.cache.id
  description       = "All outbound traffic (the default of a new security group)"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

# ---------------------------------------------------------------------------- database

resource "aws_db_subnet_group" "this" {
  name        = "${var.name}-db"
  description = "Private database subnets of ${var.name}"
  subnet_ids  = var.private_subnet_ids

  tags = {
    Name = "${var.name}-db"
  }
}

resource "aws_db_instance" "this" {
  identifier        = "${var.name}-db"
  engine            = "mariadb"
  engine_version    = "10.11" # the major version only: RDS picks the current 10.11 minor version
  instance_class    = var.db_instance_class
  allocated_storage = var.db_allocated_storage
  storage_type      = "gp3"
  storage_encrypted = true

  db_name  = var.db_name
  username = var.db_username
  # RDS generates the password and keeps it in Secrets Manager; it never appears in code or state.
  manage_master_user_password = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = var.db_multi_az

  # One day of point-in-time recovery; a sandbox must leave nothing behind: no final snapshot,
  # the automated backups go with the database, nothing blocks destroy.
  backup_retention_period    = 1
  skip_final_snapshot        = true
  delete_automated_backups   = true
  deletion_protection        = false
  apply_immediately          = true
  auto_minor_version_upgrade = true

  tags = {
    Name = "${var.name}-db"
  }
}

# ---------------------------------------------------------------------------- cache
# Redis on ElastiCache instead of on a web server: with two or more nodes a replica in the other
# zone takes over when the primary fails, so Celery's broker is no single point of failure.

resource "aws_elasticache_subnet_group" "this" {
  name        = "${var.name}-cache"
  description = "Private cache subnets of ${var.name}"
  subnet_ids  = var.private_subnet_ids

  tags = {
    Name = "${var.name}-cache"
  }
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = "${var.name}-redis"
  description          = "Redis of ${var.name}"
  engine               = "redis"
  engine_version       = "7.1"
  node_type            = var.cache_node_type
  num_cache_clusters   = var.cache_nodes
  port                 = 6379

  automatic_failover_enabled = var.cache_nodes > 1
  multi_az_enabled           = var.cache_nodes > 1

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.cache.id]

  at_rest_encryption_enabled = true
  # Plain Redis inside the VPC keeps the lab simple: Celery and redis-cli connect with a redis://
  # URL, no TLS certificates or AUTH token to set up. Only the web servers' security group reaches
  # the port and the traffic never leaves the private subnets; a production service turns this on
  # and connects with rediss://.
  transit_encryption_enabled = false

  snapshot_retention_limit = 0
  apply_immediately        = true

  tags = {
    Name = "${var.name}-cache"
  }
}
