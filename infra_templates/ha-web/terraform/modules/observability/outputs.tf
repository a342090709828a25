output "log_group_name" {
  description = "Name of the log group of the web servers."
  value       = aws_cloudwatch_log_group.app.name
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms on CPU credits, 5XX errors and unhealthy hosts."
  value = [
    aws_cloudwatch_metric_alarm.cpu_credits.alarm_name,
    aws_cloudwatch_metric_alarm.alb_5xx.alarm_name,
    aws_cloudwatch_metric_alarm.unhealthy_hosts.alarm_name,
  ]
}
