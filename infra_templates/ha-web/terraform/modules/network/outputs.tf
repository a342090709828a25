output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, available once they route to the internet."
  value       = aws_subnet.public[*].id

  # An internet-facing load balancer answers only once its subnets route to the internet.
  depends_on = [aws_route_table_association.public, aws_route.public_default]
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, available once they reach S3 through the endpoint."
  value       = aws_subnet.private[*].id

  # Servers install packages through the S3 endpoint on first boot: hand the subnets out only
  # once it and their route table association exist.
  depends_on = [aws_route_table_association.private, aws_vpc_endpoint.s3]
}
