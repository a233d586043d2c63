# Names and settings shared by every file. The services and their settings are in ecs.tf.

data "aws_availability_zones" "available" {
  state = "available"
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name = "niyanta-${var.environment}"
  azs  = slice(data.aws_availability_zones.available.names, 0, 3)

  # Three /20-sized (for a /16) public and private subnets: private ones first, so they get the
  # larger room for tasks' network interfaces.
  private_subnet_cidrs = [for i in range(3) : cidrsubnet(var.vpc_cidr, 4, i)]
  public_subnet_cidrs  = [for i in range(3) : cidrsubnet(var.vpc_cidr, 4, i + 8)]

  # The three JetStream servers' fixed addresses (the 10th of each private subnet): their
  # cluster routes and the services' DNS name point at them, so a replaced instance keeps them.
  nats_ips = [for cidr in local.private_subnet_cidrs : cidrhost(cidr, 10)]

  nats_dns  = "nats.${local.name}.internal"
  nats_url  = "nats://${local.nats_dns}:4222"
  region    = var.region
  partition = data.aws_partition.current.partition
}
