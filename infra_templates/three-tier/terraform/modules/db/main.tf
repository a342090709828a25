resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "Database tier - MySQL only from the web tier security group"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${var.name}-db"
  }
}

# A security group as the source, never an address range: only the web tier gets in.
resource "aws_vpc_security_group_ingress_rule" "mysql_from_web" {
  security_group_id            = aws_security_group.db.id
  description                  = "MySQL from the web tier"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = var.allowed_security_group_id
}

# AWS gives a new security group an allow-all egress rule and the CloudFormation version of this
# template keeps it; the Terraform provider removes it unless it is written out. Written out here
# so both versions build the same group.
resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.db.id
  description       = "All outbound traffic (the default of a new security group)"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_db_subnet_group" "this" {
  name        = "${var.name}-db"
  description = "Private database subnets of ${var.name}"
  subnet_ids  = var.subnet_ids

  tags = {
    Name = "${var.name}-db"
  }
}

resource "aws_db_instance" "this" {
  identifier = "${var.name}-db"
  engine     = "mysql"
  # The major version only: RDS picks the current 8.4 minor version. 8.4 is the long-term release
  # in RDS standard support; 8.0 left it on 2026-07-31 and now costs Extended Support.
  engine_version    = "8.4"
  instance_class    = var.instance_class
  allocated_storage = var.allocated_storage
  storage_type      = "gp3"
  storage_encrypted = true

  db_name  = var.db_name
  username = var.username
  # RDS generates the password and keeps it in Secrets Manager; it never appears in code or state.
  manage_master_user_password = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = false

  # A sandbox must leave nothing behind: no backups, no final snapshot, nothing to block destroy.
  backup_retention_period    = 0
  skip_final_snapshot        = true
  delete_automated_backups   = true
  deletion_protection        = false
  apply_immediately          = true
  auto_minor_version_upgrade = true

  tags = {
    Name = "${var.name}-db"
  }
}
