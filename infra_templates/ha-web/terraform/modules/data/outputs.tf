output "db_address" {
  description = "Host name of the database endpoint."
  value       = aws_db_instance.this.address
}

output "db_port" {
  description = "Port of the database endpoint."
  value       = aws_db_instance.this.port
}

output "db_secret_arn" {
  description = "ARN of the Secrets Manager secret in which RDS keeps the master user name and password."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "cache_address" {
  description = "Address of the Redis primary endpoint."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "cache_port" {
  description = "Port of Redis."
  value       = aws_elasticache_replication_group.this.port
}
