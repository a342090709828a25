terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.8 added insecure_value to the aws_ssm_parameter data source.
      version = "~> 5.8"
    }
  }
}

provider "aws" {
  region = var.region

  # The portal fills var.tags with sandbox:env-id, sandbox:owner and sandbox:template; every
  # resource carries them, so a leftover can always be traced back to its environment. Auto
  # Scaling groups and the instances they launch do not take default tags: the app module hands
  # them on itself.
  default_tags {
    tags = var.tags
  }
}
