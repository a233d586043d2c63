# CloudWatch: the services' Prometheus metrics (scraped by a CloudWatch agent beside each
# scheduler task and published as metrics in the Niyanta namespace), the alarms of
# docs/operations.md ("Alerts"), and the SNS topic they notify.

locals {
  metrics_namespace = "Niyanta/${var.environment}"

  # The Prometheus metrics the alarms and the worker autoscaler read (infra/observability has the
  # same rules for Prometheus). One place to change if a metric is renamed.
  metrics = {
    queue_depth  = "niyanta_queue_depth"
    placements   = "niyanta_placements_total"
    dead_workers = "niyanta_dead_workers_total"
    consumer_lag = "niyanta_consumer_pending_messages"
    leader       = "niyanta_leader"
  }

  # The scheduler's metrics carry the cluster-wide figures (queue depth, placements, consumer
  # lag, dead workers); the agent scrapes its own task's HEALTH_PORT every minute.
  prometheus_config = yamlencode({
    global = { scrape_interval = "60s", scrape_timeout = "10s" }
    scrape_configs = [{
      job_name       = "niyanta-scheduler"
      metrics_path   = "/metrics"
      static_configs = [{ targets = ["127.0.0.1:${local.health_port}"], labels = { Service = "scheduler" } }]
    }]
  })

  cloudwatch_agent_config = jsonencode({
    logs = {
      metrics_collected = {
        prometheus = {
          log_group_name         = aws_cloudwatch_log_group.prometheus.name
          prometheus_config_path = "env:PROMETHEUS_CONFIG_CONTENT"
          emf_processor = {
            metric_namespace = local.metrics_namespace
            metric_declaration = [
              {
                source_labels    = ["job"]
                label_matcher    = "^niyanta-scheduler$"
                dimensions       = [["status"]]
                metric_selectors = ["^${local.metrics.queue_depth}$"]
              },
              {
                source_labels    = ["job"]
                label_matcher    = "^niyanta-scheduler$"
                dimensions       = [["Service"]]
                metric_selectors = ["^${local.metrics.placements}$", "^${local.metrics.dead_workers}$", "^${local.metrics.leader}$"]
              },
              {
                source_labels    = ["job"]
                label_matcher    = "^niyanta-scheduler$"
                dimensions       = [["stream"]]
                metric_selectors = ["^${local.metrics.consumer_lag}$"]
              },
            ]
          }
        }
      }
      force_flush_interval = 5
    }
  })

  cloudwatch_agent_container = {
    name      = "cloudwatch-agent"
    image     = var.cloudwatch_agent_image
    essential = false
    environment = [
      { name = "CW_CONFIG_CONTENT", value = local.cloudwatch_agent_config },
      { name = "PROMETHEUS_CONFIG_CONTENT", value = local.prometheus_config },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.service["scheduler"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "cloudwatch-agent"
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "prometheus" {
  name              = "/niyanta/${var.environment}/prometheus"
  retention_in_days = var.log_retention_days
}

resource "aws_sns_topic" "alarms" {
  name              = "${local.name}-alarms"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# --- The Niyanta alerts (docs/operations.md, "Alerts") ----------------------------------------

resource "aws_cloudwatch_metric_alarm" "no_placements" {
  alarm_name          = "${local.name}-no-placements-while-pending"
  alarm_description   = "Workloads are pending but none was placed for 10 minutes. See docs/operations.md#alert-no-placements-while-work-is-pending."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  evaluation_periods  = 10
  datapoints_to_alarm = 10
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "stuck"
    expression  = "IF(pending > 0 AND placed == 0, 1, 0)"
    label       = "Pending with no placements"
    return_data = true
  }

  metric_query {
    id = "pending"

    metric {
      namespace   = local.metrics_namespace
      metric_name = local.metrics.queue_depth
      dimensions  = { status = "PENDING" }
      period      = 60
      stat        = "Maximum"
    }
  }

  metric_query {
    id = "placed"

    metric {
      namespace   = local.metrics_namespace
      metric_name = local.metrics.placements
      dimensions  = { Service = "scheduler" }
      period      = 60
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "dead_workers" {
  alarm_name          = "${local.name}-dead-workers"
  alarm_description   = "The health monitor declared workers dead. See docs/operations.md#alert-dead-workers."
  namespace           = local.metrics_namespace
  metric_name         = local.metrics.dead_workers
  dimensions          = { Service = "scheduler" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "consumer_lag" {
  for_each = toset(["NIYANTA_SUBMIT", "NIYANTA_COMPLETE", "NIYANTA_CHECKPOINT", "NIYANTA_HEARTBEAT"])

  alarm_name          = "${local.name}-consumer-lag-${lower(each.key)}"
  alarm_description   = "The consumer of ${each.key} is falling behind (pending messages above ${var.consumer_lag_threshold} for 15 minutes). See docs/operations.md#alert-consumer-lag-growing."
  namespace           = local.metrics_namespace
  metric_name         = local.metrics.consumer_lag
  dimensions          = { stream = each.key }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.consumer_lag_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# Each scheduler instance reports 1 when it leads: the sum is the number of leaders.
resource "aws_cloudwatch_metric_alarm" "scheduler_leader_missing" {
  alarm_name          = "${local.name}-scheduler-leader-missing"
  alarm_description   = "No scheduler instance has led for 3 minutes. See docs/operations.md#alert-leader-missing."
  namespace           = local.metrics_namespace
  metric_name         = local.metrics.leader
  dimensions          = { Service = "scheduler" }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# The leader-elected services must keep both instances (one leads, one stands by).
resource "aws_cloudwatch_metric_alarm" "standby_missing" {
  for_each = toset(["scheduler", "health-monitor"])

  alarm_name          = "${local.name}-${each.key}-instances"
  alarm_description   = "Fewer than two ${each.key} tasks run: no standby to take over. See docs/operations.md#alert-leader-missing."
  namespace           = "ECS/ContainerInsights"
  metric_name         = "RunningTaskCount"
  dimensions          = { ClusterName = aws_ecs_cluster.main.name, ServiceName = aws_ecs_service.service[each.key].name }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 5
  threshold           = 2
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "api_error_rate" {
  alarm_name          = "${local.name}-api-error-rate"
  alarm_description   = "More than ${var.api_error_rate_threshold * 100}% of API requests answered 5xx over 5 minutes. See docs/operations.md#alert-error-rate."
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  threshold           = var.api_error_rate_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "rate"
    expression  = "(errors_target + errors_lb) / MAX([requests, 1])"
    label       = "5xx share"
    return_data = true
  }

  metric_query {
    id = "errors_target"

    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = { LoadBalancer = aws_lb.api.arn_suffix }
      period      = 300
      stat        = "Sum"
    }
  }

  metric_query {
    id = "errors_lb"

    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = aws_lb.api.arn_suffix }
      period      = 300
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"

    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = { LoadBalancer = aws_lb.api.arn_suffix }
      period      = 300
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "api_unhealthy_targets" {
  alarm_name          = "${local.name}-api-unhealthy-targets"
  alarm_description   = "API tasks fail the load balancer's /readyz check. See docs/operations.md#alert-error-rate."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = { LoadBalancer = aws_lb.api.arn_suffix, TargetGroup = aws_lb_target_group.api.arn_suffix }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "database_cpu" {
  alarm_name          = "${local.name}-database-cpu"
  alarm_description   = "PostgreSQL CPU above 80% for 15 minutes: scale db_instance_class up."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = aws_db_instance.main.identifier }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  threshold           = 80
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "database_storage" {
  alarm_name          = "${local.name}-database-free-storage"
  alarm_description   = "PostgreSQL has under 5 GiB free: raise db_max_allocated_storage_gb or check retention."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = { DBInstanceIdentifier = aws_db_instance.main.identifier }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 5 * 1024 * 1024 * 1024
  comparison_operator = "LessThanThreshold"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}
