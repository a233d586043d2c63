variable "region" {
  description = "AWS region to deploy into, e.g. eu-west-1. It needs at least three availability zones."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "environment" {
  description = "Short name of this installation (prod, staging): prefixes every resource name."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 characters: lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags put on every resource (on top of Project, Environment, ManagedBy)."
  type        = map(string)
  default     = {}
}

variable "vpc_cidr" {
  description = "The VPC's IPv4 range; a /16 to /20. Split into three public and three private subnets."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be an IPv4 CIDR block from /16 to /20, e.g. 10.40.0.0/16."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all three zones (cheaper; outbound traffic of the private subnets stops if its zone fails) instead of one per zone."
  type        = bool
  default     = false
}

variable "image" {
  description = "The Niyanta image (built from the repo's Dockerfile), pinned: repository@sha256:<digest> or repository:<exact version tag>; never :latest."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9._-]+)?@sha256:[a-f0-9]{64}$", var.image)) || (can(regex("^[a-z0-9][a-z0-9./_:-]*:[A-Za-z0-9._-]+$", var.image)) && !endswith(var.image, ":latest"))
    error_message = "image must be pinned: <repository>@sha256:<64 hex digits> or <repository>:<version tag> (not :latest)."
  }
}

variable "cloudwatch_agent_image" {
  description = "CloudWatch agent image beside each scheduler task (publishes its Prometheus metrics to CloudWatch), pinned to a version tag from gallery.ecr.aws/cloudwatch-agent/cloudwatch-agent."
  type        = string
  default     = "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300049.1b929"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$", var.cloudwatch_agent_image)) && !endswith(var.cloudwatch_agent_image, ":latest")
    error_message = "cloudwatch_agent_image must be pinned to a version tag or digest (not :latest)."
  }
}

variable "domain_name" {
  description = "The API's host name (api.example.com). An ACM certificate is issued for it and validated in hosted_zone_id."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name such as api.example.com."
  }
}

variable "hosted_zone_id" {
  description = "The Route 53 public hosted zone that holds domain_name (for the certificate's validation and the API's alias record)."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]{4,31}$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route 53 zone id such as Z0123456789ABCDEFGHIJ."
  }
}

variable "alb_ingress_cidrs" {
  description = "IPv4 ranges allowed to reach the API's load balancer on 443 (and 80, which redirects)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.alb_ingress_cidrs) > 0 && alltrue([for c in var.alb_ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "alb_ingress_cidrs must be a non-empty list of IPv4 CIDR blocks."
  }
}

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL primary (and its Multi-AZ standby)."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class must be an RDS class such as db.t4g.medium or db.m7g.large."
  }
}

variable "db_engine_version" {
  description = "PostgreSQL major or major.minor version on RDS (15 or later)."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^(1[5-9])(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be PostgreSQL 15 or later, e.g. 16 or 16.6."
  }
}

variable "db_allocated_storage_gb" {
  description = "Initial gp3 storage of the database, in GiB (it grows on its own up to db_max_allocated_storage_gb)."
  type        = number
  default     = 50

  validation {
    condition     = var.db_allocated_storage_gb >= 20 && var.db_allocated_storage_gb <= 65536
    error_message = "db_allocated_storage_gb must be between 20 and 65536."
  }
}

variable "db_max_allocated_storage_gb" {
  description = "Ceiling of the database's storage autoscaling, in GiB; at least db_allocated_storage_gb."
  type        = number
  default     = 500

  validation {
    condition     = var.db_max_allocated_storage_gb >= 20 && var.db_max_allocated_storage_gb <= 65536
    error_message = "db_max_allocated_storage_gb must be between 20 and 65536."
  }
}

variable "db_backup_retention_days" {
  description = "Days of automated backups and point-in-time recovery (1-35)."
  type        = number
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be 1-35: 0 would turn off automated backups and point-in-time recovery."
  }
}

variable "deletion_protection" {
  description = "Protects the database and the load balancer from deletion (turn off only to destroy the installation)."
  type        = bool
  default     = true
}

variable "checkpoint_noncurrent_days" {
  description = "Days an overwritten or deleted checkpoint object's old version is kept in S3 (recovery window for blobs)."
  type        = number
  default     = 30

  validation {
    condition     = var.checkpoint_noncurrent_days >= 1 && var.checkpoint_noncurrent_days <= 3650
    error_message = "checkpoint_noncurrent_days must be between 1 and 3650."
  }
}

variable "nats_instance_type" {
  description = "EC2 instance type of each of the three JetStream servers (Graviton: arm64)."
  type        = string
  default     = "t4g.medium"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*g[a-z]*\\.[a-z0-9]+$", var.nats_instance_type))
    error_message = "nats_instance_type must be a Graviton (arm64) type such as t4g.medium or m7g.large: the servers install the arm64 nats-server."
  }
}

variable "nats_version" {
  description = "nats-server release installed on the JetStream servers (2.10 or later)."
  type        = string
  default     = "2.10.29"

  validation {
    condition     = can(regex("^2\\.(1[0-9])\\.[0-9]+$", var.nats_version))
    error_message = "nats_version must be a 2.10 or later release such as 2.10.29."
  }
}

variable "nats_volume_gb" {
  description = "Size of each JetStream server's gp3 data volume, in GiB (every stream is stored on all three with R3)."
  type        = number
  default     = 50

  validation {
    condition     = var.nats_volume_gb >= 10 && var.nats_volume_gb <= 16384
    error_message = "nats_volume_gb must be between 10 and 16384."
  }
}

variable "api_count" {
  description = "API tasks behind the load balancer (stateless; at least two for availability)."
  type        = number
  default     = 2

  validation {
    condition     = var.api_count >= 1 && var.api_count <= 100
    error_message = "api_count must be between 1 and 100."
  }
}

variable "checkpoint_count" {
  description = "Checkpoint service tasks."
  type        = number
  default     = 2

  validation {
    condition     = var.checkpoint_count >= 1 && var.checkpoint_count <= 20
    error_message = "checkpoint_count must be between 1 and 20."
  }
}

variable "worker_min_count" {
  description = "Fewest worker tasks the autoscaler keeps."
  type        = number
  default     = 2

  validation {
    condition     = var.worker_min_count >= 0 && var.worker_min_count <= 1000
    error_message = "worker_min_count must be between 0 and 1000."
  }
}

variable "worker_max_count" {
  description = "Most worker tasks the autoscaler starts; at least worker_min_count."
  type        = number
  default     = 20

  validation {
    condition     = var.worker_max_count >= 1 && var.worker_max_count <= 1000
    error_message = "worker_max_count must be between 1 and 1000."
  }
}

variable "worker_slots" {
  description = "WORKER_SLOTS of each worker task: workloads one worker runs at once."
  type        = number
  default     = 4

  validation {
    condition     = var.worker_slots >= 1 && var.worker_slots <= 10000
    error_message = "worker_slots must be between 1 and 10000."
  }
}

variable "worker_target_pending_per_task" {
  description = "Autoscaling target: pending workloads per running worker task. Below it workers are removed, above it added."
  type        = number
  default     = 8

  validation {
    condition     = var.worker_target_pending_per_task > 0
    error_message = "worker_target_pending_per_task must be above 0."
  }
}

variable "task_sizes" {
  description = "Fargate CPU units and memory (MiB) per service; the pairs must be valid Fargate sizes."
  type = map(object({
    cpu    = number
    memory = number
  }))
  default = {
    api            = { cpu = 512, memory = 1024 }
    scheduler      = { cpu = 512, memory = 1024 }
    health-monitor = { cpu = 256, memory = 512 }
    checkpoint     = { cpu = 256, memory = 512 }
    worker         = { cpu = 1024, memory = 2048 }
  }

  validation {
    condition     = alltrue([for s in ["api", "scheduler", "health-monitor", "checkpoint", "worker"] : contains(keys(var.task_sizes), s)])
    error_message = "task_sizes must have an entry for each of api, scheduler, health-monitor, checkpoint and worker."
  }

  validation {
    condition     = alltrue([for v in values(var.task_sizes) : contains([256, 512, 1024, 2048, 4096, 8192, 16384], v.cpu) && v.memory >= v.cpu && v.memory <= v.cpu * 8])
    error_message = "task_sizes: cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 and memory between cpu and 8 x cpu MiB (Fargate's pairs)."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of every service."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["fatal", "error", "warn", "info", "debug", "trace", "silent"], var.log_level)
    error_message = "log_level must be one of fatal, error, warn, info, debug, trace, silent."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the services' logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "alarm_email" {
  description = "Address subscribed to the alarms' SNS topic; empty: no subscription (subscribe the topic elsewhere)."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address or empty."
  }
}

variable "api_error_rate_threshold" {
  description = "Alarm when the share of the API's requests answered 5xx over 5 minutes exceeds this (0-1)."
  type        = number
  default     = 0.05

  validation {
    condition     = var.api_error_rate_threshold > 0 && var.api_error_rate_threshold < 1
    error_message = "api_error_rate_threshold must be between 0 and 1 (exclusive)."
  }
}

variable "consumer_lag_threshold" {
  description = "Alarm when a JetStream consumer's pending messages stay above this for 15 minutes."
  type        = number
  default     = 10000

  validation {
    condition     = var.consumer_lag_threshold >= 1
    error_message = "consumer_lag_threshold must be at least 1."
  }
}
