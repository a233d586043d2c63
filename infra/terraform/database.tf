# PostgreSQL, the system of record: Multi-AZ (a synchronous standby in another zone takes over
# on failure), encrypted, automated backups with point-in-time recovery, TLS required.

resource "aws_db_subnet_group" "main" {
  name       = local.name
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "main" {
  name_prefix = "${local.name}-pg${split(".", var.db_engine_version)[0]}-"
  family      = "postgres${split(".", var.db_engine_version)[0]}"
  description = "Niyanta: TLS only, slow statements logged"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "main" {
  identifier     = local.name
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  db_name  = "niyanta"
  username = "niyanta"
  password = random_password.database.result
  port     = 5432

  allocated_storage     = var.db_allocated_storage_gb
  max_allocated_storage = max(var.db_max_allocated_storage_gb, var.db_allocated_storage_gb)
  storage_type          = "gp3"
  storage_encrypted     = true

  multi_az               = true
  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.database.id]
  parameter_group_name   = aws_db_parameter_group.main.name
  publicly_accessible    = false

  # Automated backups: a daily snapshot plus the transaction log, so any second of the
  # retention window can be restored (docs/operations.md, "Back up and restore").
  backup_retention_period  = var.db_backup_retention_days
  backup_window            = "02:00-03:00"
  maintenance_window       = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot    = true
  delete_automated_backups = false

  auto_minor_version_upgrade = true
  # Performance Insights is not offered on the micro and small classes.
  performance_insights_enabled    = !can(regex("\\.(micro|small)$", var.db_instance_class))
  enabled_cloudwatch_logs_exports = ["postgresql"]

  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.name}-final"

  tags = { Name = local.name }
}
