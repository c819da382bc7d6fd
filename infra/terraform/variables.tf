# Each variable mirrors a parameter of infra/cloudformation/template.yaml (same default, same
# allowed values); tests/infra/test_parity.py keeps them equal.

variable "name" {
  description = "Name of the function, the queues (<name>, <name>-dlq), the rule and the alarms. Unique per account and region; at most 40 characters."
  type        = string
  default     = "ecr-findings-logger"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", var.name))
    error_message = "name: 1-40 letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "package_filename" {
  description = "Local path of the function zip built by `make package` (dist/ecr-findings-logger-<arch>.zip). Set this, or s3_bucket and s3_key."
  type        = string
  default     = null
}

variable "s3_bucket" {
  description = "S3 bucket holding the function zip (instead of package_filename)."
  type        = string
  default     = null
}

variable "s3_key" {
  description = "S3 key of the function zip; it must be the build for var.architecture."
  type        = string
  default     = null
}

variable "s3_object_version" {
  description = "Object version of the zip in a versioned bucket (null = latest)."
  type        = string
  default     = null
}

variable "architecture" {
  description = "Instruction set of the function; the zip must be built for the same one."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture: arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Function memory in MB (CPU grows with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size: 128 to 10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds. The queue's visibility timeout follows it: 6 x timeout + 60 s (the longest batching window allowed here)."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 120, 180, 300, 600, 900], var.timeout)
    error_message = "timeout: one of 60, 120, 180, 300, 600, 900."
  }
}

variable "function_log_retention_days" {
  description = "Retention of the function's own log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.function_log_retention_days)
    error_message = "function_log_retention_days: a CloudWatch Logs retention value."
  }
}

variable "batch_size" {
  description = "Scan events per invocation. Above 10, maximum_batching_window_in_seconds must be at least 1."
  type        = number
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size: 1 to 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "Seconds the event source mapping may wait to fill a batch."
  type        = number
  default     = 5

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 60
    error_message = "maximum_batching_window_in_seconds: 0 to 60."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations the event source mapping starts. The function's API rate limits are divided by it, so raising it adds parallelism but not quota."
  type        = number
  default     = 2

  validation {
    condition     = contains([2, 3, 4, 5, 10, 20, 50], var.maximum_concurrency)
    error_message = "maximum_concurrency: one of 2, 3, 4, 5, 10, 20, 50."
  }
}

variable "max_receive_count" {
  description = "Deliveries of a scan event before it is dead-lettered (the redrive maxReceiveCount; the function forwards the last failure to the DLQ itself, with its reason)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count: 1 to 1000."
  }
}

variable "findings_log_group_prefix" {
  description = "Prefix of the findings log groups (<prefix><repository-name>); the function may write only under it."
  type        = string
  default     = "/aws/ecr/image-scan-findings/"

  validation {
    condition     = can(regex("^[.\\-_/#A-Za-z0-9]{1,256}$", var.findings_log_group_prefix))
    error_message = "findings_log_group_prefix: 1-256 of letters, digits and . - _ / #."
  }
}

variable "findings_log_retention_days" {
  description = "Retention the function sets on the findings log groups it creates, in days (0 = never expire)."
  type        = number
  default     = 365

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.findings_log_retention_days)
    error_message = "findings_log_retention_days: 0 or a CloudWatch Logs retention value."
  }
}

variable "create_kms_key" {
  description = "Create a customer managed KMS key (with rotation) for the queues, the log groups and the alarm topic."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Use this existing KMS key instead (its policy must allow the services listed in docs/deploy.md). Null with create_kms_key = false: queues use SQS-managed encryption."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn: a KMS key ARN."
  }
}

variable "create_alarm_topic" {
  description = "Create an SNS topic for the alarms (subscribe to it after applying)."
  type        = bool
  default     = false
}

variable "alarm_topic_arn" {
  description = "Or notify this existing SNS topic. Null with create_alarm_topic = false = no actions."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn: an SNS topic ARN."
  }
}

variable "oldest_message_age_alarm_seconds" {
  description = "Alarm when the queue's oldest scan event is this old (consumers falling behind)."
  type        = number
  default     = 3600

  validation {
    condition     = var.oldest_message_age_alarm_seconds >= 60
    error_message = "oldest_message_age_alarm_seconds: at least 60."
  }
}

variable "ecr_read_role_arn" {
  description = "Organization-wide: read each registry through this role in the account that owns it, e.g. arn:aws:iam::{account}:role/ecr-findings-reader ({account} is the scan event's account). Null: only this account's registries."
  type        = string
  default     = null

  validation {
    condition     = var.ecr_read_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::\\{account\\}:role/[A-Za-z0-9+=,.@_/-]+$", var.ecr_read_role_arn))
    error_message = "ecr_read_role_arn: a role ARN with an {account} placeholder for the account."
  }
}

variable "organization_id" {
  description = "Organization-wide: let every account of this organization forward its scan events to this account's default event bus. Null: no bus permission."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id: an AWS Organizations id (o-...)."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
