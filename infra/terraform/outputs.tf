output "api_url" {
  description = "The API's base URL (HTTPS, through the load balancer)."
  value       = "https://${var.domain_name}"
}

output "load_balancer_dns_name" {
  description = "The load balancer's own DNS name (the alias target of domain_name)."
  value       = aws_lb.api.dns_name
}

output "ecs_cluster_name" {
  description = "The ECS cluster running the services."
  value       = aws_ecs_cluster.main.name
}

output "migrate_task_definition" {
  description = "Task definition that applies the database migrations: run it before rolling out a new image (README.md, Deploy)."
  value       = aws_ecs_task_definition.migrate.arn
}

output "private_subnet_ids" {
  description = "Private subnets (for one-off tasks such as the migrations)."
  value       = aws_subnet.private[*].id
}

output "services_security_group_id" {
  description = "Security group of the services' tasks (for one-off tasks such as the migrations)."
  value       = aws_security_group.services.id
}

output "database_endpoint" {
  description = "The PostgreSQL endpoint (host:port), reachable from the private subnets only."
  value       = aws_db_instance.main.endpoint
}

output "checkpoint_bucket" {
  description = "The S3 bucket of large checkpoints (S3_BUCKET)."
  value       = aws_s3_bucket.checkpoints.bucket
}

output "nats_url" {
  description = "NATS_URL of the services: the three JetStream servers behind one private DNS name."
  value       = local.nats_url
}

output "nats_instance_ids" {
  description = "EC2 instances of the JetStream servers (shell through Session Manager)."
  value       = aws_instance.nats[*].id
}

output "secret_arns" {
  description = "Secrets Manager secrets: DATABASE_URL, API_ROOT_KEY, SECRETS_KEY, the NATS passwords."
  value = {
    database_url = aws_secretsmanager_secret.database_url.arn
    api_root_key = aws_secretsmanager_secret.api_root_key.arn
    secrets_key  = aws_secretsmanager_secret.secrets_key.arn
    nats         = aws_secretsmanager_secret.nats.arn
  }
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}
