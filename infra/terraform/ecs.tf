# The services on ECS Fargate: one image (the repo's Dockerfile), one task definition and one
# ECS service per Niyanta service, configured only through environment variables (the names
# are those of services/*/src/config.ts). Secrets come from Secrets Manager.

locals {
  health_port = 8081

  # Settings every service shares (libs/runtime COMMON_SETTINGS).
  common_env = {
    NATS_URL             = local.nats_url
    NATS_STREAM_REPLICAS = "3"
    LOG_LEVEL            = var.log_level
  }

  blob_env = {
    BLOB_STORE = "s3"
    S3_BUCKET  = aws_s3_bucket.checkpoints.bucket
    S3_REGION  = local.region
  }

  database_secret = { DATABASE_URL = aws_secretsmanager_secret.database_url.arn }
  nats_secret     = { for user in local.nats_users : user => "${aws_secretsmanager_secret.nats.arn}:${user}::" }

  services = {
    api = {
      count     = var.api_count
      task_role = "base"
      env = merge(local.common_env, {
        NATS_USER = "api"
        PORT      = "8080"
        HOST      = "0.0.0.0"
      })
      secrets = merge(local.database_secret, {
        NATS_PASSWORD = local.nats_secret["api"]
        API_ROOT_KEY  = aws_secretsmanager_secret.api_root_key.arn
        SECRETS_KEY   = aws_secretsmanager_secret.secrets_key.arn
      })
      port = 8080
    }
    # Two instances: one leads (PostgreSQL advisory lock), the other stands by.
    scheduler = {
      count     = 2
      task_role = "metrics"
      env = merge(local.common_env, {
        NATS_USER   = "scheduler"
        HEALTH_PORT = tostring(local.health_port)
      })
      secrets = merge(local.database_secret, { NATS_PASSWORD = local.nats_secret["scheduler"] })
      port    = local.health_port
    }
    health-monitor = {
      count     = 2
      task_role = "base"
      env = merge(local.common_env, {
        NATS_USER   = "health-monitor"
        HEALTH_PORT = tostring(local.health_port)
      })
      secrets = merge(local.database_secret, { NATS_PASSWORD = local.nats_secret["health-monitor"] })
      port    = local.health_port
    }
    checkpoint = {
      count     = var.checkpoint_count
      task_role = "blobs"
      env = merge(local.common_env, local.blob_env, {
        NATS_USER   = "checkpoint"
        HEALTH_PORT = tostring(local.health_port)
      })
      secrets = merge(local.database_secret, { NATS_PASSWORD = local.nats_secret["checkpoint"] })
      port    = local.health_port
    }
    # WORKER_ID is left unset: each task makes a unique one from its host name.
    worker = {
      count     = var.worker_min_count
      task_role = "blobs"
      env = merge(local.common_env, local.blob_env, {
        NATS_USER        = "worker"
        HEALTH_PORT      = tostring(local.health_port)
        WORKER_SLOTS     = tostring(var.worker_slots)
        WORKER_CPU       = tostring(var.task_sizes["worker"].cpu / 1024)
        WORKER_MEMORY_MB = tostring(var.task_sizes["worker"].memory)
      })
      secrets = {
        NATS_PASSWORD = local.nats_secret["worker"]
        SECRETS_KEY   = aws_secretsmanager_secret.secrets_key.arn
      }
      port = local.health_port
    }
  }

  # Liveness inside the task; readiness is the load balancer's (api) or the service's /readyz.
  health_check = {
    for name, s in local.services : name => {
      command     = ["CMD", "node", "-e", "fetch('http://127.0.0.1:${s.port}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
      interval    = 10
      timeout     = 5
      retries     = 3
      startPeriod = 30
    }
  }
}

resource "aws_ecs_cluster" "main" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "service" {
  for_each          = toset(concat(keys(local.services), ["migrate"]))
  name              = "/niyanta/${var.environment}/${each.key}"
  retention_in_days = var.log_retention_days
}

# --- IAM ----------------------------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# ECS itself: pulls the image, writes the logs, reads the secrets into the environment.
resource "aws_iam_role" "execution" {
  name_prefix        = "${local.name}-exec-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  statement {
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_secretsmanager_secret.database_url.arn,
      aws_secretsmanager_secret.api_root_key.arn,
      aws_secretsmanager_secret.secrets_key.arn,
      aws_secretsmanager_secret.nats.arn,
    ]
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

# The tasks' own roles: "base" may do nothing in AWS, "blobs" reads and writes the checkpoint
# bucket, "metrics" lets the scheduler's CloudWatch agent publish the Prometheus metrics.
resource "aws_iam_role" "task" {
  for_each           = toset(["base", "blobs", "metrics"])
  name_prefix        = "${local.name}-${each.key}-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "blobs" {
  statement {
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.checkpoints.arn}/*"]
  }

  statement {
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.checkpoints.arn]
  }
}

resource "aws_iam_role_policy" "blobs" {
  name   = "checkpoint-bucket"
  role   = aws_iam_role.task["blobs"].id
  policy = data.aws_iam_policy_document.blobs.json
}

data "aws_iam_policy_document" "metrics" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:CreateLogGroup"]
    resources = ["${aws_cloudwatch_log_group.prometheus.arn}:*", aws_cloudwatch_log_group.prometheus.arn]
  }

  statement {
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "metrics" {
  name   = "prometheus-to-cloudwatch"
  role   = aws_iam_role.task["metrics"].id
  policy = data.aws_iam_policy_document.metrics.json
}

# --- Task definitions and services -------------------------------------------------------------

resource "aws_ecs_task_definition" "service" {
  for_each = local.services

  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.task_sizes[each.key].cpu)
  memory                   = tostring(var.task_sizes[each.key].memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task[each.value.task_role].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode(concat(
    [{
      name         = each.key
      image        = var.image
      essential    = true
      command      = ["node", "services/${each.key}/dist/main.js"]
      portMappings = [{ containerPort = each.value.port, protocol = "tcp" }]
      environment  = [for k, v in each.value.env : { name = k, value = v }]
      secrets      = [for k, v in each.value.secrets : { name = k, valueFrom = v }]
      healthCheck  = local.health_check[each.key]
      # SIGTERM drains (stop intake, checkpoint, hand back); the default SHUTDOWN_TIMEOUT_MS
      # (15 s) fits well inside this.
      stopTimeout = 60
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.service[each.key].name
          awslogs-region        = local.region
          awslogs-stream-prefix = each.key
        }
      }
    }],
    each.key == "scheduler" ? [local.cloudwatch_agent_container] : [],
  ))
}

# Migrations, run as a one-off task before a new image rolls out (README.md, Deploy).
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${local.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task["base"].arn

  container_definitions = jsonencode([{
    name      = "migrate"
    image     = var.image
    essential = true
    command   = ["node", "libs/db/dist/migrate-cli.js"]
    secrets   = [for k, v in local.database_secret : { name = k, valueFrom = v }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.service["migrate"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "migrate"
      }
    }
  }])
}

resource "aws_ecs_service" "service" {
  for_each = local.services

  name            = each.key
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.service[each.key].arn
  desired_count   = each.value.count
  launch_type     = "FARGATE"

  # A roll starts the new tasks before stopping old ones: the scheduler and health monitor
  # always keep a leader or a standby, and the API its capacity.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.services.id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = each.key == "api" ? [1] : []
    content {
      target_group_arn = aws_lb_target_group.api.arn
      container_name   = "api"
      container_port   = 8080
    }
  }

  health_check_grace_period_seconds = each.key == "api" ? 60 : null
  enable_execute_command            = false
  propagate_tags                    = "SERVICE"

  # The autoscaler owns the workers' count.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener.https, aws_iam_role_policy.execution_secrets]
}

# --- Autoscaling -------------------------------------------------------------------------------

# Workers follow the queue: pending workloads per running worker task (the scheduler's
# Prometheus queue depth, published to CloudWatch by its agent, over Container Insights'
# running task count), kept near worker_target_pending_per_task.
resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.service["worker"].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.worker_min_count
  max_capacity       = max(var.worker_max_count, var.worker_min_count)
}

resource "aws_appautoscaling_policy" "worker_queue_depth" {
  name               = "${local.name}-worker-queue-depth"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension
  policy_type        = "TargetTrackingScaling"

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_target_pending_per_task
    scale_out_cooldown = 60
    # Slow to scale in: a removed worker drains and hands its runs back.
    scale_in_cooldown = 300

    customized_metric_specification {
      metrics {
        id          = "pending"
        label       = "Pending workloads"
        return_data = false

        metric_stat {
          stat = "Maximum"

          metric {
            namespace   = local.metrics_namespace
            metric_name = local.metrics.queue_depth

            dimensions {
              name  = "status"
              value = "PENDING"
            }
          }
        }
      }

      metrics {
        id          = "workers"
        label       = "Running worker tasks"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"

            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.main.name
            }

            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.service["worker"].name
            }
          }
        }
      }

      metrics {
        id          = "per_task"
        label       = "Pending workloads per worker task"
        expression  = "pending / MAX([workers, 1])"
        return_data = true
      }
    }
  }
}

resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.service["api"].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.api_count
  max_capacity       = var.api_count * 4
}

resource "aws_appautoscaling_policy" "api_cpu" {
  name               = "${local.name}-api-cpu"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  resource_id        = aws_appautoscaling_target.api.resource_id
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension
  policy_type        = "TargetTrackingScaling"

  target_tracking_scaling_policy_configuration {
    target_value = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
