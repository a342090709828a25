output "web_url" {
  description = "URL of the Flask app (give the instance a few minutes to install Docker and build the app)."
  value       = "http://${module.ec2.public_ip}"
}

output "web_public_ip" {
  description = "Public IPv4 address of the web server."
  value       = module.ec2.public_ip
}

output "db_endpoint" {
  description = "Address of the MySQL database (reachable only from the web server)."
  value       = module.db.address
}

output "db_port" {
  description = "Port of the MySQL database."
  value       = module.db.port
}
