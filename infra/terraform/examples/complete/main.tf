# Everything on: a customer managed KMS key, an alarm topic and a findings topic with e-mail
# subscriptions, a watch list, the findings archive (Object Lock in governance mode, an Athena
# workgroup), and the function zip from `make package` uploaded by Terraform itself.

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

  findings_alarm_severity = "HIGH"
  watched_vulnerabilities = var.watched_vulnerabilities

  create_notify_topic = true
  notify_min_severity = "HIGH"

  create_archive_bucket          = true
  archive_bucket_name            = var.archive_bucket_name
  archive_object_lock_mode       = "GOVERNANCE"
  archive_object_lock_days       = 400
  archive_query_results_location = var.archive_query_results_location

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

resource "aws_sns_topic_subscription" "findings_email" {
  count = var.findings_email == null ? 0 : 1

  topic_arn = module.findings_logger.notify_topic_arn
  protocol  = "email"
  endpoint  = var.findings_email
}
