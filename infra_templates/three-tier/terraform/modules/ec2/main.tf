# AMI ids differ per region: read the current one from the public SSM parameter instead.
data "aws_ssm_parameter" "ami" {
  name = var.ami_parameter
}

resource "aws_security_group" "web" {
  name        = "${var.name}-web"
  description = "Web tier - HTTP from anywhere, SSH from one address"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${var.name}-web"
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
  description       = "All outbound traffic (package and image downloads, the database)"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_instance" "web" {
  ami                         = data.aws_ssm_parameter.ami.insecure_value
  instance_type               = var.instance_type
  key_name                    = var.key_name != "" ? var.key_name : null
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.web.id]
  associate_public_ip_address = true

  # The database address and port come in as module variables (from the db module's outputs)
  # and are written into the first-boot script here.
  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    name      = var.name
    app_title = var.app_title
    db_host   = var.db_host
    db_port   = var.db_port
  })
  # Changed user data (say, a new database address) builds a new instance instead of editing a
  # running one: immutable servers.
  user_data_replace_on_change = true

  credit_specification {
    cpu_credits = "standard"
  }

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  tags = {
    Name = "${var.name}-web"
  }
}
