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

variable "findings_alarm_severity" {
  description = "The new-findings alarm fires when findings of this severity or a higher one are logged (UNDEFINED: every severity)."
  type        = string
  default     = "CRITICAL"

  validation {
    condition     = contains(["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"], var.findings_alarm_severity)
    error_message = "findings_alarm_severity: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL or UNDEFINED."
  }
}

variable "watched_vulnerabilities" {
  description = "Vulnerability ids to watch (e.g. [\"CVE-2021-44228\", \"GHSA-jfh8-c2jp-5v3q\"]): counted as their own metric and alarmed on when a logged finding names one. Empty: none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.watched_vulnerabilities : can(regex("^[A-Za-z0-9._:-]+$", id))])
    error_message = "watched_vulnerabilities: ids of letters, digits and . _ : - only."
  }
}

variable "create_notify_topic" {
  description = "Create an encrypted SNS topic the function notifies of new findings (subscribe e-mail or AWS Chatbot to it after applying)."
  type        = bool
  default     = false
}

variable "notify_topic_arn" {
  description = "Or notify this existing SNS topic. Null with create_notify_topic = false: no notifications."
  type        = string
  default     = null

  validation {
    condition     = var.notify_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.notify_topic_arn))
    error_message = "notify_topic_arn: an SNS topic ARN."
  }
}

variable "notify_topic_kms_key_arn" {
  description = "The customer managed KMS key of the notification topic: the created topic is encrypted with it (default: the module's key, else SNS's AWS managed key); for notify_topic_arn, the key that topic uses, if any. The function may use it through SNS only."
  type        = string
  default     = null

  validation {
    condition     = var.notify_topic_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.notify_topic_kms_key_arn))
    error_message = "notify_topic_kms_key_arn: a KMS key ARN."
  }
}

variable "notify_min_severity" {
  description = "An image is notified when it has new findings of this severity or a higher one (or a watched vulnerability)."
  type        = string
  default     = "CRITICAL"

  validation {
    condition     = contains(["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"], var.notify_min_severity)
    error_message = "notify_min_severity: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL or UNDEFINED."
  }
}

variable "notify_max_messages" {
  description = "Most notifications one invocation publishes; beyond them it publishes one summary of the rest."
  type        = number
  default     = 20

  validation {
    condition     = var.notify_max_messages >= 0 && var.notify_max_messages <= 10000
    error_message = "notify_max_messages: 0 to 10000."
  }
}

variable "create_archive_bucket" {
  description = "Create the archive bucket (versioned, encrypted, private, TLS only, optional Object Lock, lifecycle to an archive storage class). The function writes every logged scan to it."
  type        = bool
  default     = false
}

variable "archive_bucket_name" {
  description = "With create_archive_bucket = true, the name of the bucket to create (null: a generated name). Otherwise an existing bucket to archive to. Null with create_archive_bucket = false: no archive."
  type        = string
  default     = null

  validation {
    condition     = var.archive_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.archive_bucket_name))
    error_message = "archive_bucket_name: an S3 bucket name."
  }
}

variable "archive_prefix" {
  description = "Key prefix of the archive objects (empty, or ending in /); the function may write only under it."
  type        = string
  default     = "ecr-findings/"

  validation {
    condition     = var.archive_prefix == "" || can(regex("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/$", var.archive_prefix))
    error_message = "archive_prefix: empty, or path segments of letters, digits and . _ - ending in /."
  }
}

variable "archive_encryption" {
  description = "Default encryption of the created bucket. SSE-KMS uses archive_kms_key_arn, else the module's key, else S3's AWS managed key."
  type        = string
  default     = "SSE-KMS"

  validation {
    condition     = contains(["SSE-KMS", "SSE-S3"], var.archive_encryption)
    error_message = "archive_encryption: SSE-KMS or SSE-S3."
  }
}

variable "archive_kms_key_arn" {
  description = "The customer managed KMS key of the archive: the created bucket's SSE-KMS key, or the key objects are written with in an existing bucket. The function may use it through S3 only."
  type        = string
  default     = null

  validation {
    condition     = var.archive_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.archive_kms_key_arn))
    error_message = "archive_kms_key_arn: a KMS key ARN."
  }
}

variable "archive_object_lock_mode" {
  description = "Create the bucket with S3 Object Lock and this default retention mode (COMPLIANCE: no one, not even the account's root user, can delete an object before its retention ends). Null: no Object Lock. Only at creation."
  type        = string
  default     = null

  validation {
    # Not "null || contains(...)": Terraform evaluates both sides, and contains() refuses null.
    condition     = var.archive_object_lock_mode == null ? true : contains(["GOVERNANCE", "COMPLIANCE"], var.archive_object_lock_mode)
    error_message = "archive_object_lock_mode: GOVERNANCE, COMPLIANCE or null."
  }
}

variable "archive_object_lock_days" {
  description = "Default retention of each archive object under Object Lock, in days."
  type        = number
  default     = 365

  validation {
    condition     = var.archive_object_lock_days >= 1 && var.archive_object_lock_days <= 36500
    error_message = "archive_object_lock_days: 1 to 36500."
  }
}

variable "archive_transition_storage_class" {
  description = "Storage class archive objects move to (GLACIER_IR stays queryable by Athena; DEEP_ARCHIVE is cheaper, but its objects must be restored before Athena can read them)."
  type        = string
  default     = "GLACIER_IR"

  validation {
    condition     = contains(["GLACIER_IR", "DEEP_ARCHIVE"], var.archive_transition_storage_class)
    error_message = "archive_transition_storage_class: GLACIER_IR or DEEP_ARCHIVE."
  }
}

variable "archive_transition_days" {
  description = "Days after creation when archive objects move to archive_transition_storage_class."
  type        = number
  default     = 90

  validation {
    condition     = var.archive_transition_days >= 0 && var.archive_transition_days <= 36500
    error_message = "archive_transition_days: 0 to 36500."
  }
}

variable "archive_database_name" {
  description = "Glue database of the archive's table (lower-case letters, digits and _)."
  type        = string
  default     = "ecr_findings"

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.archive_database_name))
    error_message = "archive_database_name: 1-255 lower-case letters, digits and _."
  }
}

variable "archive_table_name" {
  description = "Glue table over the archive, partitioned by kind and day with partition projection (no crawler)."
  type        = string
  default     = "archive"

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.archive_table_name))
    error_message = "archive_table_name: 1-255 lower-case letters, digits and _."
  }
}

variable "archive_query_results_location" {
  description = "Create an Athena workgroup <name> whose query results go to this S3 location (ending in /), encrypted, with the workgroup's settings enforced. Null: no workgroup; the named query belongs to the primary workgroup."
  type        = string
  default     = null

  validation {
    condition     = var.archive_query_results_location == null || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([^ ]*/)?$", var.archive_query_results_location))
    error_message = "archive_query_results_location: an s3:// location ending in /."
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
