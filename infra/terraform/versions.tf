terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # State belongs in a remote, locked backend for anything shared; see README.md ("State").
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = "niyanta"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}
