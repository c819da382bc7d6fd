# Everything on: a customer managed KMS key, an alarm topic with an e-mail subscription, and the
# function zip from `make package` uploaded by Terraform itself.

provider "aws" {
  region = var.region
}

module "findings_logger" {
  source = "../.."

  name             = var.name
  package_filename = var.package_filename
  architecture     = var.architecture

  create_kms_key              = true
  findings_log_retention_days = 400
  create_alarm_topic          = true
  maximum_concurrency         = 2

  tags = {
    Project = "ecr-findings-logger"
  }
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = module.findings_logger.alarm_topic_arn
  protocol  = "email"
  endpoint  = var.alarm_email
}
