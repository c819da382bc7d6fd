# ECR Findings Logger, member account: the same resources, settings and permissions as
# infra/cloudformation/member-account.yaml (tests/infra/test_member_account_parity.py compares
# the two). Forwards this account's completed image scans to the central event bus, and lets
# the central function read this account's findings through the reader role.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  create_dlq = var.forward_events && var.create_dead_letter_queue
  # null, not []: with no topic the alarm has no actions at all, as in the template.
  alarm_actions = var.alarm_topic_arn == "" ? null : [var.alarm_topic_arn]
  # Built from the name: the rule's arn would be a cycle (the rule names the forwarding role).
  rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name}"

  # The central rule's pattern: forward only what the central rule takes.
  event_pattern = {
    "$or" = [
      {
        source        = ["aws.ecr", "aws.inspector2"]
        "detail-type" = ["ECR Image Scan", "Inspector2 Scan"]
        detail = {
          "scan-status" = ["COMPLETE", "INITIAL_SCAN_COMPLETE"]
          # Inspector also announces EC2 instance scans; only image scans name a repository.
          "repository-name" = [{ exists = true }]
        }
      },
      {
        # Continuous scanning: every finding created, updated or closed later. EC2 and
        # Lambda findings share the detail-type; only image findings are taken.
        source        = ["aws.inspector2"]
        "detail-type" = ["Inspector2 Finding"]
        detail = {
          resources = { type = ["AWS_ECR_CONTAINER_IMAGE"] }
        }
      },
    ]
  }
}

# ------------------------------------------------------------------ forwarding

resource "aws_cloudwatch_event_rule" "forward" {
  count = var.forward_events ? 1 : 0

  name          = var.name
  description   = "Completed ECR basic and Inspector enhanced scans, and Inspector finding changes, of container images to the central event bus."
  state         = "ENABLED"
  event_pattern = jsonencode(local.event_pattern)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "central_bus" {
  count = var.forward_events ? 1 : 0

  rule      = aws_cloudwatch_event_rule.forward[0].name
  target_id = "central-event-bus"
  arn       = var.central_event_bus_arn
  role_arn  = aws_iam_role.forward[0].arn

  retry_policy {
    maximum_retry_attempts       = 185
    maximum_event_age_in_seconds = 86400
  }

  dynamic "dead_letter_config" {
    for_each = local.create_dlq ? [1] : []
    content {
      arn = aws_sqs_queue.dlq[0].arn
    }
  }
}

# What EventBridge assumes to put the events on the central bus, and nothing more.
data "aws_iam_policy_document" "forward_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.rule_arn]
    }
  }
}

data "aws_iam_policy_document" "forward" {
  statement {
    sid       = "PutEventsOnCentralBus"
    actions   = ["events:PutEvents"]
    resources = [var.central_event_bus_arn]
  }
}

resource "aws_iam_role" "forward" {
  count = var.forward_events ? 1 : 0

  description        = "${var.name}: put scan events on the central event bus"
  assume_role_policy = data.aws_iam_policy_document.forward_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "forward" {
  count = var.forward_events ? 1 : 0

  name   = "put-events-on-central-bus"
  role   = aws_iam_role.forward[0].id
  policy = data.aws_iam_policy_document.forward.json
}

resource "aws_sqs_queue" "dlq" {
  count = local.create_dlq ? 1 : 0

  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

# Only this module's rule may dead-letter here; every other principal needs its own IAM grant.
data "aws_iam_policy_document" "dlq" {
  count = local.create_dlq ? 1 : 0

  statement {
    sid       = "UndeliveredEventsFromThisRuleOnly"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq[0].arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.forward[0].arn]
    }
  }

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dlq[0].arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  count = local.create_dlq ? 1 : 0

  queue_url = aws_sqs_queue.dlq[0].id
  policy    = data.aws_iam_policy_document.dlq[0].json
}

# Undelivered scan events are not logged until someone sends them on, and the queue keeps
# them only 14 days: say so at once.
resource "aws_cloudwatch_metric_alarm" "dead_letter_queue_not_empty" {
  count = local.create_dlq ? 1 : 0

  alarm_name          = "${var.name}-dlq-not-empty"
  alarm_description   = "Scan events of this account could not be put on the central event bus (bus policy, forwarding role, central bus gone) and are not logged. They wait in the dead-letter queue for 14 days, each with EventBridge's ERROR_CODE; fix the cause, then send them on."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq[0].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# ------------------------------------------------------------------ reading findings

# The central function reads this account's findings as this role (its ECR_READ_ROLE_ARN).
data "aws_iam_policy_document" "reader_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [var.central_function_role_arn]
    }
  }
}

data "aws_iam_policy_document" "reader" {
  # Every region: the role is global and the central account may forward several.
  statement {
    sid       = "ReadScanFindings"
    actions   = ["ecr:DescribeImageScanFindings"]
    resources = ["arn:${local.partition}:ecr:*:${local.account_id}:repository/*"]
  }
}

resource "aws_iam_role" "reader" {
  count = var.create_reader_role ? 1 : 0

  name               = var.reader_role_name
  description        = "The central ECR Findings Logger reads this account's image scan findings."
  assume_role_policy = data.aws_iam_policy_document.reader_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "reader" {
  count = var.create_reader_role ? 1 : 0

  name   = "read-scan-findings"
  role   = aws_iam_role.reader[0].id
  policy = data.aws_iam_policy_document.reader.json
}
