output "queue_url" {
  description = "Source queue of scan events."
  value       = module.findings_logger.queue_url
}

output "dead_letter_queue_url" {
  description = "Dead-lettered scan events."
  value       = module.findings_logger.dead_letter_queue_url
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.findings_logger.function_name
}

output "kms_key_arn" {
  description = "The KMS key created for the deployment."
  value       = module.findings_logger.kms_key_arn
}

output "alarm_topic_arn" {
  description = "The SNS topic the alarms notify."
  value       = module.findings_logger.alarm_topic_arn
}

output "notify_topic_arn" {
  description = "The SNS topic the function notifies of new findings."
  value       = module.findings_logger.notify_topic_arn
}

output "archive_bucket_name" {
  description = "The findings archive."
  value       = module.findings_logger.archive_bucket_name
}

output "archive_database_name" {
  description = "The Glue database of the archive's table."
  value       = module.findings_logger.archive_database_name
}

output "archive_named_query_id" {
  description = "The named query \"images with a vulnerability\"."
  value       = module.findings_logger.archive_named_query_id
}
