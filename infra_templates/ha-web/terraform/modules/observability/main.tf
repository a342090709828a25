resource "aws_cloudwatch_log_group" "app" {
  name              = "/sandbox/${var.name}/app"
  retention_in_days = var.log_retention_days

  tags = {
    Name = "${var.name}-app"
  }
}

# An empty CPU credit balance holds a burstable server at its baseline: health checks time out and
# the group replaces servers that are only starved. Non-burstable types report no credits, which
# is not breaching.
resource "aws_cloudwatch_metric_alarm" "cpu_credits" {
  alarm_name          = "${var.name}-cpu-credits"
  alarm_description   = "A web server is running out of CPU credits."
  namespace           = "AWS/EC2"
  metric_name         = "CPUCreditBalance"
  dimensions          = { AutoScalingGroupName = var.asg_name }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.cpu_credit_alarm_threshold
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "notBreaching"
}

# A deploy that succeeded is not a healthy service: these two watch what users see at the edge.
resource "aws_cloudwatch_metric_alarm" "alb_5xx" {
  alarm_name          = "${var.name}-alb-5xx"
  alarm_description   = "The load balancer itself answers with 5XX errors (no healthy server, timeouts)."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_ELB_5XX_Count"
  dimensions          = { LoadBalancer = var.load_balancer_arn_suffix }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = 10
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
}

resource "aws_cloudwatch_metric_alarm" "unhealthy_hosts" {
  alarm_name          = "${var.name}-unhealthy-hosts"
  alarm_description   = "A web server fails the load balancer's health check."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = { TargetGroup = var.target_group_arn_suffix, LoadBalancer = var.load_balancer_arn_suffix }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
}
