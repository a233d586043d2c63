# A three-node NATS JetStream cluster: one EC2 instance per availability zone, each with its own
# encrypted gp3 volume for the stream store and a fixed private address. Streams are R3
# (NATS_STREAM_REPLICAS=3 on every service), so the cluster keeps accepting and serving with
# one server down. EC2 rather than Fargate: JetStream wants a local block device (Fargate offers
# only ephemeral storage or EFS, which nats-server's file store does not support), and a stable
# identity per server.

data "aws_ssm_parameter" "al2023_arm64" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "nats" {
  statement {
    sid       = "ReadNatsPasswords"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.nats.arn]
  }

  statement {
    sid       = "ShipServerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.nats.arn}:*"]
  }
}

resource "aws_iam_role" "nats" {
  name_prefix        = "${local.name}-nats-"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy" "nats" {
  name   = "nats"
  role   = aws_iam_role.nats.id
  policy = data.aws_iam_policy_document.nats.json
}

# Shell access through Session Manager: no SSH port, no key pairs.
resource "aws_iam_role_policy_attachment" "nats_ssm" {
  role       = aws_iam_role.nats.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "nats" {
  name_prefix = "${local.name}-nats-"
  role        = aws_iam_role.nats.name
}

resource "aws_cloudwatch_log_group" "nats" {
  name              = "/niyanta/${var.environment}/nats"
  retention_in_days = var.log_retention_days
}

resource "aws_ebs_volume" "nats" {
  count             = 3
  availability_zone = local.azs[count.index]
  size              = var.nats_volume_gb
  type              = "gp3"
  encrypted         = true

  tags = { Name = "${local.name}-nats-${count.index + 1}" }
}

resource "aws_instance" "nats" {
  count                  = 3
  ami                    = data.aws_ssm_parameter.al2023_arm64.value
  instance_type          = var.nats_instance_type
  subnet_id              = aws_subnet.private[count.index].id
  private_ip             = local.nats_ips[count.index]
  vpc_security_group_ids = [aws_security_group.nats.id]
  iam_instance_profile   = aws_iam_instance_profile.nats.name

  user_data_replace_on_change = false
  user_data = templatefile("${path.module}/templates/nats-user-data.sh.tftpl", {
    server_name      = "nats-${count.index + 1}"
    nats_version     = var.nats_version
    routes           = [for ip in local.nats_ips : "${ip}:6222"]
    secret_arn       = aws_secretsmanager_secret.nats.arn
    region           = local.region
    log_group        = aws_cloudwatch_log_group.nats.name
    server_conf      = file("${path.module}/../nats/nats-server.conf")
    permissions_conf = file("${path.module}/../nats/permissions.conf")
  })

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = 20
    encrypted   = true
  }

  # A new AMI is rolled out one server at a time by hand (docs/operations.md, "Upgrade"), never
  # by a plan that replaces all three at once.
  lifecycle {
    ignore_changes = [ami, user_data]
  }

  tags = { Name = "${local.name}-nats-${count.index + 1}" }

  depends_on = [aws_secretsmanager_secret_version.nats]
}

resource "aws_volume_attachment" "nats" {
  count       = 3
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.nats[count.index].id
  instance_id = aws_instance.nats[count.index].id
}

# A server whose host fails is recovered onto new hardware with the same address and volume.
resource "aws_cloudwatch_metric_alarm" "nats_recover" {
  count               = 3
  alarm_name          = "${local.name}-nats-${count.index + 1}-system-check"
  alarm_description   = "JetStream server nats-${count.index + 1} failed its system status check: EC2 recovers it onto new hardware (same address, same volume)."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed_System"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  dimensions          = { InstanceId = aws_instance.nats[count.index].id }
  alarm_actions       = ["arn:${local.partition}:automate:${local.region}:ec2:recover", aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "nats_instance_check" {
  count               = 3
  alarm_name          = "${local.name}-nats-${count.index + 1}-instance-check"
  alarm_description   = "JetStream server nats-${count.index + 1} failed its instance status check: reboot it (docs/operations.md)."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed_Instance"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  dimensions          = { InstanceId = aws_instance.nats[count.index].id }
  alarm_actions       = ["arn:${local.partition}:automate:${local.region}:ec2:reboot", aws_sns_topic.alarms.arn]
}
