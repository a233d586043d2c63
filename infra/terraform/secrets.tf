# Every secret lives in Secrets Manager; ECS injects them into the tasks as environment
# variables (never in a task definition's plain environment), and the JetStream servers read
# theirs at boot. Rotation: docs/operations.md, "Rotate secrets".

resource "random_password" "database" {
  length  = 40
  special = false # it is embedded in DATABASE_URL
}

resource "random_password" "api_root_key" {
  length  = 48
  special = false
}

resource "random_bytes" "secrets_key" {
  length = 32
}

locals {
  nats_users = ["api", "scheduler", "health-monitor", "checkpoint", "worker", "submitter-default", "route"]
}

resource "random_password" "nats" {
  for_each = toset(local.nats_users)
  length   = 40
  special  = false
}

resource "aws_secretsmanager_secret" "database_url" {
  name_prefix             = "${local.name}/database-url-"
  description             = "DATABASE_URL of the services (PostgreSQL over TLS)"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id = aws_secretsmanager_secret.database_url.id
  # sslmode=no-verify: encrypted (rds.force_ssl) without checking the RDS CA, which Node does
  # not trust by default; add the RDS bundle with NODE_EXTRA_CA_CERTS and use sslmode=verify-full
  # to check it too.
  secret_string = "postgres://${aws_db_instance.main.username}:${random_password.database.result}@${aws_db_instance.main.address}:${aws_db_instance.main.port}/${aws_db_instance.main.db_name}?sslmode=no-verify"
}

resource "aws_secretsmanager_secret" "api_root_key" {
  name_prefix             = "${local.name}/api-root-key-"
  description             = "API_ROOT_KEY: the installation's root key (creates tenants and keys)"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "api_root_key" {
  secret_id     = aws_secretsmanager_secret.api_root_key.id
  secret_string = random_password.api_root_key.result
}

resource "aws_secretsmanager_secret" "secrets_key" {
  name_prefix             = "${local.name}/secrets-key-"
  description             = "SECRETS_KEY: seals tenants' secrets (api and workers)"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "secrets_key" {
  secret_id     = aws_secretsmanager_secret.secrets_key.id
  secret_string = "k1:${random_bytes.secrets_key.base64}"

  # A new key is added in front of the old one by hand (docs/operations.md): Terraform must not
  # put the first one back.
  lifecycle {
    ignore_changes = [secret_string]
  }
}

# One JSON secret, a password per broker user (infra/nats/nats-server.conf) and the cluster
# routes' password; each task gets only its own user's key.
resource "aws_secretsmanager_secret" "nats" {
  name_prefix             = "${local.name}/nats-"
  description             = "NATS passwords, one key per broker user, and the cluster route password"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "nats" {
  secret_id     = aws_secretsmanager_secret.nats.id
  secret_string = jsonencode({ for user in local.nats_users : user => random_password.nats[user].result })
}
