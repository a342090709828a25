output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "web_subnet_id" {
  description = "ID of the public web subnet, available once the subnet routes to the internet."
  value       = aws_subnet.web.id

  # Whatever is launched here downloads packages on first boot: hand the subnet out only once
  # its route to the internet gateway exists.
  depends_on = [aws_route_table_association.web]
}

output "db_subnet_ids" {
  description = "IDs of the private database subnets."
  value       = aws_subnet.db[*].id
}
