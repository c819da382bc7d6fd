output "ecr_read_role_arn" {
  description = "The central module's ecr_read_role_arn (ECR_READ_ROLE_ARN): the reader role of any account."
  value       = "arn:${local.partition}:iam::{account}:role/${var.reader_role_name}"
}

output "reader_role_arn" {
  description = "This account's reader role."
  value       = var.create_reader_role ? aws_iam_role.reader[0].arn : null
}

output "rule_arn" {
  description = "The rule forwarding scan events to the central bus."
  value       = var.forward_events ? aws_cloudwatch_event_rule.forward[0].arn : null
}

output "forward_role_arn" {
  description = "The role the rule uses to put events on the central bus."
  value       = var.forward_events ? aws_iam_role.forward[0].arn : null
}

output "dead_letter_queue_url" {
  description = "Scan events the rule could not deliver (with EventBridge's ERROR_CODE attribute)."
  value       = local.create_dlq ? aws_sqs_queue.dlq[0].url : null
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = local.create_dlq ? aws_sqs_queue.dlq[0].arn : null
}

output "dead_letter_queue_alarm_name" {
  description = "The alarm on the dead-letter queue."
  value       = local.create_dlq ? aws_cloudwatch_metric_alarm.dead_letter_queue_not_empty[0].alarm_name : null
}
