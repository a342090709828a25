output "web_url" {
  description = "URL of the nginx page (give the instance a minute or two to install Docker)."
  value       = "http://${aws_instance.web.public_ip}"
}

output "public_ip" {
  description = "Public IPv4 address of the web server."
  value       = aws_instance.web.public_ip
}

output "instance_id" {
  description = "ID of the EC2 instance."
  value       = aws_instance.web.id
}
