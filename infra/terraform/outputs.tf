output "queue_url" {
  description = "Source queue of scan events."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the source queue."
  value       = aws_sqs_queue.this.arn
}

output "dead_letter_queue_url" {
  description = "Dead-lettered scan events, each with its reason in message attributes."
  value       = aws_sqs_queue.dlq.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "function_role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "function_log_group_name" {
  description = "The function's own log group."
  value       = aws_cloudwatch_log_group.function.name
}

output "event_source_mapping_id" {
  description = "Disable it to pause consumption (scan events wait in the queue)."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "rule_arn" {
  description = "ARN of the EventBridge rule."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "findings_log_group_prefix" {
  description = "Prefix of the findings log groups."
  value       = var.findings_log_group_prefix
}

output "kms_key_arn" {
  description = "The KMS key of the queues and log groups (null without one)."
  value       = local.use_kms ? local.kms_key_arn : null
}

output "alarm_topic_arn" {
  description = "The SNS topic the alarms notify (null without one)."
  value       = local.notify_alarms ? local.alarm_topic_arn : null
}

output "notify_topic_arn" {
  description = "The SNS topic the function notifies of new findings (null without one)."
  value       = local.notify ? local.notify_topic_arn : null
}

output "archive_bucket_name" {
  description = "The bucket the function archives to (null without an archive)."
  value       = local.archive ? local.archive_bucket : null
}

output "archive_database_name" {
  description = "The Glue database of the archive's table (null without an archive)."
  value       = local.archive ? aws_glue_catalog_database.archive[0].name : null
}

output "archive_table_name" {
  description = "The Glue table over the archive (null without an archive)."
  value       = local.archive ? var.archive_table_name : null
}

output "archive_named_query_id" {
  description = "The named query \"images with a vulnerability\" (parameters, quoted: the id, the first day, the last day; null without an archive)."
  value       = local.archive ? aws_athena_named_query.images_with_vulnerability[0].id : null
}

output "archive_work_group_name" {
  description = "The Athena workgroup of the archive's queries (null without one)."
  value       = local.archive_query_group ? aws_athena_workgroup.archive[0].name : null
}
