# Each variable mirrors a parameter of infra/cloudformation/member-account.yaml (same default,
# same allowed values); tests/infra/test_member_account_parity.py keeps them equal.

variable "forward_events" {
  description = "Forward this account's scan events to the central bus. false in the central account itself (its own rule already takes them): only the reader role is deployed."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the forwarding rule and of its dead-letter queue (<name>-dlq). Unique per account and region; at most 40 characters."
  type        = string
  default     = "ecr-findings-forwarder"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", var.name))
    error_message = "name: 1-40 letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "central_event_bus_arn" {
  description = "The central account's event bus, e.g. arn:aws:events:<region>:<central-account>:event-bus/default (the central module's organization_id lets the organization's accounts put events on it). Unused with forward_events = false."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]+$", var.central_event_bus_arn))
    error_message = "central_event_bus_arn: an event bus ARN."
  }
}

variable "create_dead_letter_queue" {
  description = "Keep scan events the rule could not deliver to the central bus (after 24 h of retries) in an encrypted queue <name>-dlq for 14 days, instead of dropping them."
  type        = bool
  default     = true
}

variable "alarm_topic_arn" {
  description = "SNS topic (in this region) the dead-letter queue's alarm notifies. Empty = the alarm only changes state."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^$|^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn: empty or an SNS topic ARN."
  }
}

variable "create_reader_role" {
  description = "Create the reader role. IAM roles are global: when one account uses this module in several regions, set false in all of them but one."
  type        = bool
  default     = true
}

variable "reader_role_name" {
  description = "Name of the reader role; the same in every account, as the central module's ecr_read_role_arn (arn:aws:iam::{account}:role/<reader_role_name>) names it."
  type        = string
  default     = "ecr-findings-reader"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.reader_role_name))
    error_message = "reader_role_name: 1-64 characters of an IAM role name."
  }
}

variable "central_function_role_arn" {
  description = "The central function's role (the central module's function_role_arn output): the only principal the reader role trusts."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", var.central_function_role_arn))
    error_message = "central_function_role_arn: an IAM role ARN."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
