# AMI ids differ per region: read the current one from the public SSM parameter instead.
data "aws_ssm_parameter" "ami" {
  name = var.ami_parameter
}

data "aws_region" "current" {}

data "aws_partition" "current" {}

# The provider's default tags reach neither an Auto Scaling group nor what it launches: they are
# handed on below, so every server carries the environment's tags too.
data "aws_default_tags" "current" {}

locals {
  # Credit specifications are refused for instance types that earn no CPU credits.
  burstable = startswith(var.instance_type, "t")
  server_tags = merge(data.aws_default_tags.current.tags, {
    Name = "${var.name}-app"
  })
}

# ---------------------------------------------------------------------------- security group

resource "aws_security_group" "app" {
  name        = "${var.name}-app"
  description = "Web servers - HTTP only from the load balancer, no SSH"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${var.name}-app"
  }
}

# A security group as the source, never an address range: only the load balancer gets in.
resource "aws_vpc_security_group_ingress_rule" "http_from_alb" {
  security_group_id            = aws_security_group.app.id
  description                  = "HTTP from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 80
  to_port                      = 80
  referenced_security_group_id = var.alb_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.app.id
  description       = "All outbound traffic (S3, the database, the cache, AWS APIs through NAT)"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

# ---------------------------------------------------------------------------- release bundles
# The build uploads one bundle, CodeDeploy installs it on every server.

resource "aws_s3_bucket" "bundles" {
  bucket_prefix = "${var.name}-bundles-"
  # A sandbox must leave nothing behind: destroy removes the bundles (every version) with it.
  force_destroy = true

  tags = {
    Name = "${var.name}-bundles"
  }
}

resource "aws_s3_bucket_ownership_controls" "bundles" {
  bucket = aws_s3_bucket.bundles.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "bundles" {
  bucket = aws_s3_bucket.bundles.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "bundles" {
  bucket = aws_s3_bucket.bundles.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Every upload of the same key keeps the one before it, so a release can be rolled back.
resource "aws_s3_bucket_versioning" "bundles" {
  bucket = aws_s3_bucket.bundles.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "bundles" {
  bucket = aws_s3_bucket.bundles.id

  rule {
    id     = "expire-old-releases"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }

  depends_on = [aws_s3_bucket_versioning.bundles]
}

# ---------------------------------------------------------------------------- identities
# The servers' identity instead of access keys: SSM Session Manager (no SSH), the CloudWatch agent,
# the release bundles and the database secret.

resource "aws_iam_role" "instance" {
  name_prefix = "${var.name}-app-"
  description = "Web servers of ${var.name}"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = {
    Name = "${var.name}-app"
  }
}

resource "aws_iam_role_policy_attachment" "instance" {
  for_each = toset(["AmazonSSMManagedInstanceCore", "CloudWatchAgentServerPolicy"])

  role       = aws_iam_role.instance.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/${each.key}"
}

resource "aws_iam_role_policy" "instance" {
  name = "read-release-bundles-and-db-secret"
  role = aws_iam_role.instance.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:GetObjectVersion"]
        Resource = "${aws_s3_bucket.bundles.arn}/*"
      },
      {
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = aws_s3_bucket.bundles.arn
      },
      {
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = var.db_secret_arn
      },
    ]
  })
}

resource "aws_iam_instance_profile" "app" {
  name_prefix = "${var.name}-app-"
  role        = aws_iam_role.instance.name
}

resource "aws_iam_role" "codedeploy" {
  name_prefix = "${var.name}-codedeploy-"
  description = "CodeDeploy service role of ${var.name}"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "codedeploy.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = {
    Name = "${var.name}-codedeploy"
  }
}

resource "aws_iam_role_policy_attachment" "codedeploy" {
  role       = aws_iam_role.codedeploy.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSCodeDeployRole"
}

# The managed policy predates launch templates: a group built from one also needs these.
resource "aws_iam_role_policy" "codedeploy" {
  name = "launch-template-instances"
  role = aws_iam_role.codedeploy.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["ec2:RunInstances", "ec2:CreateTags"]
        Resource = "*"
      },
      {
        Effect   = "Allow"
        Action   = "iam:PassRole"
        Resource = aws_iam_role.instance.arn
      },
    ]
  })
}

# ---------------------------------------------------------------------------- servers

resource "aws_launch_template" "app" {
  name_prefix   = "${var.name}-app-"
  image_id      = data.aws_ssm_parameter.ami.insecure_value
  instance_type = var.instance_type
  # Each change is a new version; the group below launches the latest one and refreshes onto it.
  update_default_version = true

  iam_instance_profile {
    arn = aws_iam_instance_profile.app.arn
  }

  vpc_security_group_ids = [aws_security_group.app.id]

  dynamic "credit_specification" {
    for_each = local.burstable ? ["standard"] : []
    content {
      cpu_credits = credit_specification.value
    }
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  # A size of its own rather than the image's 8 GiB: room for the releases CodeDeploy keeps on
  # every server and for the logs. It must not be smaller than the AMI's snapshot.
  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = 20
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  # Where the database and cache are comes in as module variables (from the data module's
  # outputs) and is written into the first-boot script here.
  user_data = base64encode(templatefile("${path.module}/user_data.sh.tftpl", {
    name           = var.name
    region         = data.aws_region.current.name
    db_host        = var.db_host
    db_port        = var.db_port
    db_name        = var.db_name
    db_secret_arn  = var.db_secret_arn
    cache_host     = var.cache_host
    cache_port     = var.cache_port
    log_group_name = var.log_group_name
  }))

  tag_specifications {
    resource_type = "instance"
    tags          = local.server_tags
  }

  tag_specifications {
    resource_type = "volume"
    tags          = local.server_tags
  }

  tags = {
    Name = "${var.name}-app"
  }
}

# Immutable servers: nothing is changed on a running server. A changed launch template (instance
# type, AMI, user data) is a new version, and the instance refresh replaces the servers onto it a
# few at a time; new servers get the last release from CodeDeploy. A change that replaces the
# group itself builds the new group before the old one goes.
resource "aws_autoscaling_group" "app" {
  name_prefix         = "${var.name}-app-"
  vpc_zone_identifier = var.private_subnet_ids

  min_size         = var.min_size
  max_size         = var.max_size
  desired_capacity = var.desired_capacity

  launch_template {
    id      = aws_launch_template.app.id
    version = aws_launch_template.app.latest_version
  }

  # The load balancer's health check, not only the instance's: a server whose application does
  # not answer is replaced. The grace period covers the first boot's installs.
  health_check_type         = "ELB"
  health_check_grace_period = 300
  target_group_arns         = [var.target_group_arn]

  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage = 50
      instance_warmup        = 300
    }
  }

  dynamic "tag" {
    for_each = local.server_tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    create_before_destroy = true
    # Target tracking moves the desired capacity; an apply must not pull it back.
    ignore_changes = [desired_capacity]

    precondition {
      condition     = var.min_size <= var.desired_capacity && var.desired_capacity <= var.max_size
      error_message = "desired_capacity (${var.desired_capacity}) must lie between min_size (${var.min_size}) and max_size (${var.max_size})."
    }
  }
}

resource "aws_autoscaling_policy" "cpu" {
  name                      = "${var.name}-cpu-target"
  autoscaling_group_name    = aws_autoscaling_group.app.name
  policy_type               = "TargetTrackingScaling"
  estimated_instance_warmup = 300

  target_tracking_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
    target_value = var.cpu_target
  }
}

# ---------------------------------------------------------------------------- releases
# A release is one bundle in S3 installed on the running servers, one server at a time, each taken
# out of the load balancer while it is updated: minutes, where baking an image per release and
# replacing the group took twenty and more.

resource "aws_codedeploy_app" "this" {
  name             = "${var.name}-app"
  compute_platform = "Server"

  tags = {
    Name = "${var.name}-app"
  }
}

resource "aws_codedeploy_deployment_group" "web" {
  app_name               = aws_codedeploy_app.this.name
  deployment_group_name  = "${var.name}-web"
  service_role_arn       = aws_iam_role.codedeploy.arn
  autoscaling_groups     = [aws_autoscaling_group.app.name]
  deployment_config_name = "CodeDeployDefault.OneAtATime"

  deployment_style {
    deployment_type   = "IN_PLACE"
    deployment_option = "WITH_TRAFFIC_CONTROL"
  }

  load_balancer_info {
    target_group_info {
      name = var.target_group_name
    }
  }

  auto_rollback_configuration {
    enabled = true
    events  = ["DEPLOYMENT_FAILURE"]
  }

  tags = {
    Name = "${var.name}-web"
  }
}
