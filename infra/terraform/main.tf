# ECR Findings Logger: the same resources, settings and permissions as
# infra/cloudformation/template.yaml (tests/infra/test_parity.py compares the two).

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  use_kms     = var.create_kms_key || var.kms_key_arn != null
  kms_key_arn = var.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn

  # Findings notifications (optional): a created topic or a given one, and its key if any.
  notify             = var.create_notify_topic || var.notify_topic_arn != null
  notify_topic_arn   = var.create_notify_topic ? aws_sns_topic.notify[0].arn : var.notify_topic_arn
  notify_kms_key_arn = var.notify_topic_kms_key_arn != null ? var.notify_topic_kms_key_arn : local.notify_module_key
  notify_module_key  = var.create_notify_topic && local.use_kms ? local.kms_key_arn : null
  # The function publishes as a principal of this account, which SNS's AWS managed key admits
  # (CloudWatch alarms are not: the alarm topic never uses it).
  notify_topic_key = local.use_kms ? local.kms_key_arn : "alias/aws/sns"

  # The findings archive (optional): a created bucket or a given one, and its key if any.
  archive             = var.create_archive_bucket || var.archive_bucket_name != null
  archive_bucket      = var.create_archive_bucket ? aws_s3_bucket.archive[0].id : var.archive_bucket_name
  archive_sse_kms     = var.create_archive_bucket && var.archive_encryption == "SSE-KMS"
  archive_kms_key_arn = var.archive_kms_key_arn != null ? var.archive_kms_key_arn : local.archive_module_key
  archive_module_key  = local.archive_sse_kms && local.use_kms ? local.kms_key_arn : null
  archive_object_lock = var.create_archive_bucket && var.archive_object_lock_mode != null
  archive_query_group = local.archive && var.archive_query_results_location != null

  # The function's Findings metric (EMF) by Severity, summed over every severity at or above
  # the alarm's threshold (the order is pipeline.layout.SEVERITY_ORDER; UNTRIAGED counts only
  # with UNDEFINED, i.e. everything).
  # The archive's JSON lines are heterogeneous (basic and enhanced findings, finding events,
  # the scan's summary): the common top-level fields, lower-case as Glue keeps them; the OpenX
  # SerDe matches them to the JSON keys regardless of case.
  archive_columns = [
    { name = "name", type = "string" },
    { name = "severity", type = "string" },
    { name = "uri", type = "string" },
    { name = "description", type = "string" },
    { name = "attributes", type = "array<struct<key:string,value:string>>" },
    { name = "packagevulnerabilitydetails", type = "struct<vulnerabilityid:string,source:string,sourceurl:string,vendorseverity:string,vendorcreatedat:string,vendorupdatedat:string,referenceurls:array<string>,relatedvulnerabilities:array<string>,cvss:array<struct<basescore:double,scoringvector:string,source:string,version:string>>,vulnerablepackages:array<struct<name:string,version:string,epoch:int,release:string,arch:string,packagemanager:string,filepath:string,fixedinversion:string,remediation:string,sourcelayerhash:string>>>" },
    { name = "findingarn", type = "string" },
    { name = "status", type = "string" },
    { name = "title", type = "string" },
    { name = "updatedat", type = "string" },
    { name = "imagecontext", type = "struct<account:string,region:string,repository:string,imagedigest:string,imagetags:array<string>,scantime:string,scankind:string,eventkind:string,eventid:string,eventtime:string,updatedat:string>" },
  ]

  metrics_namespace         = "ECRFindingsLogger"
  severity_order            = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED", "UNDEFINED"]
  findings_alarm_severities = slice(local.severity_order, 0, index(local.severity_order, var.findings_alarm_severity) + 1)

  notify_alarms   = var.create_alarm_topic || var.alarm_topic_arn != null
  alarm_topic_arn = var.create_alarm_topic ? aws_sns_topic.alarms[0].arn : var.alarm_topic_arn
  alarm_actions   = local.notify_alarms ? [local.alarm_topic_arn] : []

  # Built from the names (not from the resources) where the resources would depend on each other.
  queue_arn          = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${var.name}"
  rule_arn           = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name}"
  function_log_group = "/aws/lambda/${var.name}"
  # The reader role of any account: {account} becomes "*" (each account's role decides to
  # trust this one).
  ecr_read_roles = var.ecr_read_role_arn == null ? null : replace(var.ecr_read_role_arn, "{account}", "*")

  # AWS asks for a visibility timeout of at least 6 x the function timeout plus the batching
  # window, so that a batch is not handed out again while a slow invocation still works on it.
  max_batching_window_seconds = 60
  visibility_timeout_seconds  = 6 * var.timeout + local.max_batching_window_seconds
  message_retention_seconds   = 1209600

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

  # Per-consumer client-side rate limits (calls a second): the account quota share divided by
  # the number of concurrent consumers, rounded down to hundredths. ECR publishes no quota for
  # DescribeImageScanFindings; 40 gives each of the default two consumers the handler's 20.
  rate_quota_shares = {
    PUT_LOG_EVENTS_RATE    = 2500
    CREATE_LOG_STREAM_RATE = 50
    CREATE_LOG_GROUP_RATE  = 10
    GET_LOG_EVENTS_RATE    = 25
    ECR_FINDINGS_RATE      = 40
  }
  consumer_rates = {
    for name, share in local.rate_quota_shares :
    name => tostring(floor(share * 100 / var.maximum_concurrency) / 100)
  }

  environment_base = {
    FINDINGS_LOG_GROUP_PREFIX = var.findings_log_group_prefix
    DEAD_LETTER_QUEUE_URL     = aws_sqs_queue.dlq.url
    MAX_RECEIVE_COUNT         = tostring(var.max_receive_count)
    CLAIM_TIMEOUT_SECONDS     = tostring(var.timeout)
  }
  environment_optional = {
    LOG_RETENTION_DAYS = var.findings_log_retention_days > 0 ? tostring(var.findings_log_retention_days) : null
    LOG_KMS_KEY_ARN    = local.use_kms ? local.kms_key_arn : null
    ECR_READ_ROLE_ARN  = var.ecr_read_role_arn
    # The CloudFormation parameter's comma-separated form.
    WATCHED_VULNERABILITIES = length(var.watched_vulnerabilities) > 0 ? join(",", var.watched_vulnerabilities) : null
    NOTIFY_TOPIC_ARN        = local.notify ? local.notify_topic_arn : null
    NOTIFY_MIN_SEVERITY     = local.notify ? var.notify_min_severity : null
    NOTIFY_MAX_MESSAGES     = local.notify ? tostring(var.notify_max_messages) : null
    ARCHIVE_BUCKET          = local.archive ? local.archive_bucket : null
    ARCHIVE_PREFIX          = local.archive ? var.archive_prefix : null
    ARCHIVE_KMS_KEY_ARN     = local.archive ? local.archive_kms_key_arn : null
  }
  environment = merge(
    local.environment_base,
    local.consumer_rates,
    { for name, value in local.environment_optional : name => value if value != null },
  )
}

# ------------------------------------------------------------------ encryption (optional)

data "aws_iam_policy_document" "key" {
  count = var.create_kms_key ? 1 : 0

  # In a key policy "*" is the key itself.
  #checkov:skip=CKV_AWS_109:Key policy: "*" is this key, and administration stays with the account's IAM.
  #checkov:skip=CKV_AWS_111:Key policy: "*" is this key, and administration stays with the account's IAM.
  #checkov:skip=CKV_AWS_356:Key policy: "*" is this key; there is no other resource to name.
  statement {
    sid       = "AccountAdministersThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "LogsEncryptThisStacksGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.findings_log_group_prefix}*",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name}",
      ]
    }
  }

  statement {
    sid       = "EventBridgeDeliversToTheQueues"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]
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

  statement {
    sid       = "AlarmsPublishToTheTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  count = var.create_kms_key ? 1 : 0

  description         = "${var.name}: queues, log groups, topics and findings archive"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key[0].json
  # The findings log groups outlive the module (the function creates them) and stay readable
  # only with this key: the longest window to cancel its deletion.
  deletion_window_in_days = 30
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.create_kms_key ? 1 : 0

  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this[0].key_id
}

# ------------------------------------------------------------------ queues

resource "aws_sqs_queue" "this" {
  name                              = var.name
  visibility_timeout_seconds        = local.visibility_timeout_seconds
  message_retention_seconds         = local.message_retention_seconds
  sqs_managed_sse_enabled           = local.use_kms ? null : true
  kms_master_key_id                 = local.use_kms ? local.kms_key_arn : null
  kms_data_key_reuse_period_seconds = local.use_kms ? 3600 : null
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = var.tags
}

resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name}-dlq"
  message_retention_seconds         = local.message_retention_seconds
  sqs_managed_sse_enabled           = local.use_kms ? null : true
  kms_master_key_id                 = local.use_kms ? local.kms_key_arn : null
  kms_data_key_reuse_period_seconds = local.use_kms ? 3600 : null
  tags                              = var.tags
}

# Only the findings queue may redrive into the DLQ.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.queue_arn]
  })
}

# Only this module's rule may send scan events; every other principal needs its own IAM grant.
data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "ScanEventsFromThisRuleOnly"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.this.arn]
    }
  }

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.this.arn]
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

resource "aws_sqs_queue_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  policy    = data.aws_iam_policy_document.queue.json
}

# The rule's target dead-letters here what EventBridge could not deliver.
data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "UndeliveredEventsFromThisRuleOnly"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.this.arn]
    }
  }

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dlq.arn]
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
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

# ------------------------------------------------------------------ events

resource "aws_cloudwatch_event_rule" "this" {
  name          = var.name
  description   = "Completed ECR basic and Inspector enhanced scans, and Inspector finding changes, of container images."
  state         = "ENABLED"
  event_pattern = jsonencode(local.event_pattern)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "queue" {
  rule      = aws_cloudwatch_event_rule.this.name
  target_id = "findings-queue"
  arn       = aws_sqs_queue.this.arn

  retry_policy {
    maximum_retry_attempts       = 185
    maximum_event_age_in_seconds = 86400
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

# Member accounts' rules forward their scan events to this default bus.
resource "aws_cloudwatch_event_permission" "organization" {
  count = var.organization_id == null ? 0 : 1

  event_bus_name = "default"
  statement_id   = "${var.name}-organization"
  action         = "events:PutEvents"
  principal      = "*"

  condition {
    type  = "StringEquals"
    key   = "aws:PrincipalOrgID"
    value = var.organization_id
  }
}

# ------------------------------------------------------------------ function

resource "aws_cloudwatch_log_group" "function" {
  name              = local.function_log_group
  retention_in_days = var.function_log_retention_days
  kms_key_id        = local.use_kms ? local.kms_key_arn : null
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name}-"
  description        = "${var.name}: read scan findings, write findings logs, consume its queue"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadScanFindings"
    actions   = ["ecr:DescribeImageScanFindings"]
    resources = ["arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/*"]
  }

  statement {
    sid = "WriteFindingsLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:PutRetentionPolicy",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:GetLogEvents",
      # Claims on images: who is writing one, and giving it back on failure.
      "logs:DescribeLogStreams",
      "logs:DeleteLogStream",
    ]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.findings_log_group_prefix}*"]
  }

  statement {
    sid     = "WriteOwnLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    # The provider's log group arn has no ":*" (CloudFormation's has).
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }

  statement {
    sid = "ConsumeFindingsQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ChangeMessageVisibility",
    ]
    resources = [aws_sqs_queue.this.arn]
  }

  statement {
    sid       = "ForwardToDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  dynamic "statement" {
    for_each = local.use_kms ? [1] : []
    content {
      sid       = "UseQueueKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [local.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.ecr_read_role_arn == null ? [] : [1]
    content {
      sid       = "ReadOtherAccountsRegistries"
      actions   = ["sts:AssumeRole"]
      resources = [local.ecr_read_roles]
    }
  }

  dynamic "statement" {
    for_each = local.notify ? [1] : []
    content {
      sid       = "PublishFindingsNotifications"
      actions   = ["sns:Publish"]
      resources = [local.notify_topic_arn]
    }
  }

  dynamic "statement" {
    for_each = local.notify && local.notify_kms_key_arn != null ? [1] : []
    content {
      sid       = "UseNotifyTopicKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [local.notify_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sns.${local.region}.amazonaws.com"]
      }
    }
  }

  # Write-once puts (If-None-Match) under the prefix: no read, list or delete.
  dynamic "statement" {
    for_each = local.archive ? [1] : []
    content {
      sid       = "WriteArchiveObjects"
      actions   = ["s3:PutObject"]
      resources = ["arn:${local.partition}:s3:::${local.archive_bucket}/${var.archive_prefix}*"]
    }
  }

  dynamic "statement" {
    for_each = local.archive && local.archive_kms_key_arn != null ? [1] : []
    content {
      sid       = "UseArchiveKey"
      actions   = ["kms:GenerateDataKey"]
      resources = [local.archive_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "findings-logger"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.function.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:The event source mapping invokes it synchronously; failed scan events go to the queue's DLQ, an asynchronous-invocation DLQ would never receive anything.
  #checkov:skip=CKV_AWS_117:It only calls AWS APIs; a VPC would add NAT or endpoints and no protection.
  #checkov:skip=CKV_AWS_115:The event source mapping's maximum_concurrency bounds it without reserving (and taking) capacity from the account's pool.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (names, URLs, numbers); Lambda encrypts it at rest with its AWS managed key.
  #checkov:skip=CKV_AWS_45:The environment holds no secrets (names, URLs, numbers); this entropy scan of it passes on some runs and fails on others over the same module.
  #checkov:skip=CKV_AWS_50:X-Ray needs xray:PutTraceSegments on "*"; the function reports through EMF metrics and one JSON line per message instead.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile and a signed upload; the zip is built from source by `make package`, sign it in your pipeline if you require it.
  function_name = var.name
  description   = "ECR image-scan findings into CloudWatch Logs"
  runtime       = "python3.13"
  architectures = [var.architecture]
  handler       = "lambdas.findings_logger.handler"
  memory_size   = var.memory_size
  timeout       = var.timeout
  role          = aws_iam_role.this.arn

  filename          = var.package_filename
  source_code_hash  = var.package_filename == null ? null : filebase64sha256(var.package_filename)
  s3_bucket         = var.s3_bucket
  s3_key            = var.s3_key
  s3_object_version = var.s3_object_version

  environment {
    variables = local.environment
  }

  tags = var.tags

  # The group exists (with its retention) before the function's first line is logged, and the
  # role can write to it.
  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.this]

  lifecycle {
    precondition {
      condition     = (var.package_filename != null) != (var.s3_bucket != null && var.s3_key != null)
      error_message = "Set package_filename, or s3_bucket and s3_key (not both)."
    }
    precondition {
      condition     = !(var.create_kms_key && var.kms_key_arn != null)
      error_message = "Set create_kms_key = true or kms_key_arn, not both."
    }
    precondition {
      condition     = !(var.create_alarm_topic && var.alarm_topic_arn != null)
      error_message = "Set create_alarm_topic = true or alarm_topic_arn, not both."
    }
    precondition {
      condition     = !(var.create_notify_topic && var.notify_topic_arn != null)
      error_message = "Set create_notify_topic = true or notify_topic_arn, not both."
    }
    precondition {
      condition     = var.notify_topic_kms_key_arn == null || local.notify
      error_message = "notify_topic_kms_key_arn needs create_notify_topic = true or notify_topic_arn."
    }
    precondition {
      condition     = (var.archive_kms_key_arn == null && var.archive_query_results_location == null) || local.archive
      error_message = "archive_kms_key_arn and archive_query_results_location need create_archive_bucket = true or archive_bucket_name."
    }
    precondition {
      condition     = var.archive_object_lock_mode == null || var.create_archive_bucket
      error_message = "archive_object_lock_mode applies to the bucket the module creates."
    }
    precondition {
      condition     = !(var.create_archive_bucket && var.archive_encryption == "SSE-S3" && var.archive_kms_key_arn != null)
      error_message = "archive_encryption = \"SSE-S3\" takes no archive_kms_key_arn."
    }
  }
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = aws_sqs_queue.this.arn
  function_name                      = aws_lambda_function.this.arn
  enabled                            = true
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }
}

# ------------------------------------------------------------------ notifications (optional)

resource "aws_sns_topic" "notify" {
  count = var.create_notify_topic ? 1 : 0

  name              = "${var.name}-findings"
  kms_master_key_id = var.notify_topic_kms_key_arn != null ? var.notify_topic_kms_key_arn : local.notify_topic_key
  tags              = var.tags
}

# ------------------------------------------------------------------ archive (optional)

# The record kept for compliance: `terraform destroy` fails while it holds objects (no
# force_destroy), as CloudFormation retains it.
resource "aws_s3_bucket" "archive" {
  #checkov:skip=CKV_AWS_18:Object-level access to the archive is recorded with CloudTrail data events (docs/deploy.md); server access logs would need a second bucket of their own.
  #checkov:skip=CKV_AWS_144:Cross-region replication needs a second bucket in another region; add a replication rule of your own where a second copy is required.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to new archive objects; event notifications would have no consumer.
  count = var.create_archive_bucket ? 1 : 0

  bucket              = var.archive_bucket_name
  object_lock_enabled = local.archive_object_lock ? true : null
  tags                = var.tags
}

resource "aws_s3_bucket_versioning" "archive" {
  count = var.create_archive_bucket ? 1 : 0

  bucket = aws_s3_bucket.archive[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_object_lock_configuration" "archive" {
  count = local.archive_object_lock ? 1 : 0

  bucket = aws_s3_bucket.archive[0].id
  rule {
    default_retention {
      mode = var.archive_object_lock_mode
      days = var.archive_object_lock_days
    }
  }
  depends_on = [aws_s3_bucket_versioning.archive]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "archive" {
  count = var.create_archive_bucket ? 1 : 0

  bucket = aws_s3_bucket.archive[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.archive_encryption == "SSE-KMS" ? "aws:kms" : "AES256"
      kms_master_key_id = local.archive_kms_key_arn
    }
    bucket_key_enabled = var.archive_encryption == "SSE-KMS" ? true : null
  }
}

resource "aws_s3_bucket_public_access_block" "archive" {
  count = var.create_archive_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.archive[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "archive" {
  count = var.create_archive_bucket ? 1 : 0

  bucket = aws_s3_bucket.archive[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "archive" {
  count = var.create_archive_bucket ? 1 : 0

  bucket = aws_s3_bucket.archive[0].id
  rule {
    id     = "archive-storage-class"
    status = "Enabled"
    filter {
      prefix = var.archive_prefix
    }
    transition {
      storage_class = var.archive_transition_storage_class
      days          = var.archive_transition_days
    }
  }
  # The function's puts are single requests; this only reclaims what another writer left.
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
  depends_on = [aws_s3_bucket_versioning.archive]
}

data "aws_iam_policy_document" "archive_bucket" {
  count = var.create_archive_bucket ? 1 : 0

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.archive[0].arn, "${aws_s3_bucket.archive[0].arn}/*"]
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

resource "aws_s3_bucket_policy" "archive" {
  count = var.create_archive_bucket ? 1 : 0

  bucket = aws_s3_bucket.archive[0].id
  policy = data.aws_iam_policy_document.archive_bucket[0].json
  # The policy after the public access block, which would otherwise race it.
  depends_on = [aws_s3_bucket_public_access_block.archive]
}

resource "aws_glue_catalog_database" "archive" {
  count = local.archive ? 1 : 0

  name        = var.archive_database_name
  description = "${var.name}: the findings archive (one JSON line per finding, then the scan's summary)"
}

# Partition projection computes each partition's location from the query: no crawler and no
# partitions to add. A partition (kind, day) holds the account=/region=/repository= folders
# below it, which Athena reads too: the account, region and repository are in imagecontext.
resource "aws_glue_catalog_table" "archive" {
  count = local.archive ? 1 : 0

  name          = var.archive_table_name
  database_name = aws_glue_catalog_database.archive[0].name
  description   = "Archived findings, one row per logged finding or scan summary, by kind (scan, finding) and UTC day."
  table_type    = "EXTERNAL_TABLE"
  parameters = {
    "classification"                = "json"
    "projection.enabled"            = "true"
    "projection.kind.type"          = "enum"
    "projection.kind.values"        = "scan,finding"
    "projection.date.type"          = "date"
    "projection.date.range"         = "2020-01-01,NOW"
    "projection.date.format"        = "yyyy-MM-dd"
    "projection.date.interval"      = "1"
    "projection.date.interval.unit" = "DAYS"
    # Athena skips objects in Deep Archive; once restored, it reads them.
    "read_restored_glacier_objects" = "true"
    "storage.location.template"     = "s3://${local.archive_bucket}/${var.archive_prefix}kind=$${kind}/date=$${date}/"
  }

  partition_keys {
    name = "kind"
    type = "string"
  }
  partition_keys {
    name = "date"
    type = "string"
  }

  storage_descriptor {
    location      = "s3://${local.archive_bucket}/${var.archive_prefix}"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    ser_de_info {
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      parameters = {
        "ignore.malformed.json" = "true"
      }
    }
    dynamic "columns" {
      for_each = local.archive_columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_athena_workgroup" "archive" {
  count = local.archive_query_group ? 1 : 0

  name        = var.name
  description = "${var.name}: queries of the findings archive"
  state       = "ENABLED"
  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    result_configuration {
      output_location = var.archive_query_results_location
      encryption_configuration {
        encryption_option = local.use_kms ? "SSE_KMS" : "SSE_S3"
        kms_key_arn       = local.use_kms ? local.kms_key_arn : null
      }
    }
  }
  tags = var.tags
}

# A parameterised query: the Athena console asks for the values, the API takes them as
# execution parameters.
resource "aws_athena_named_query" "images_with_vulnerability" {
  count = local.archive ? 1 : 0

  name        = "${var.name}: images with a vulnerability"
  description = "Every archived image whose findings name a vulnerability id between two days (parameters, quoted - the id, the first day, the last day)."
  database    = aws_glue_catalog_database.archive[0].name
  workgroup   = local.archive_query_group ? aws_athena_workgroup.archive[0].id : null
  query       = <<-EOT
    -- Every archived image whose findings name a vulnerability id, in every account,
    -- region and repository, between two UTC days. Parameters, quoted: the id, the first
    -- day, the last day, e.g. 'CVE-2021-44228', '2024-01-01', '2024-12-31'.
    SELECT imagecontext.account AS account,
           imagecontext.region AS region,
           imagecontext.repository AS repository,
           imagecontext.imagedigest AS image_digest,
           array_join(arbitrary(imagecontext.imagetags), ',') AS image_tags,
           array_join(array_agg(DISTINCT severity), ',') AS severities,
           min("date") AS first_day,
           max("date") AS last_day
    FROM "${var.archive_table_name}"
    WHERE ? IN (name, packagevulnerabilitydetails.vulnerabilityid)
      AND "date" BETWEEN ? AND ?
    GROUP BY 1, 2, 3, 4
    ORDER BY last_day DESC, repository, image_digest
  EOT
}

# ------------------------------------------------------------------ alarms

# Encrypted with the module's key when there is one. Not with SNS's AWS managed key: its policy
# cannot let CloudWatch alarms publish, so every notification would be lost.
resource "aws_sns_topic" "alarms" {
  #checkov:skip=CKV_AWS_26:Encrypted with the module's key when there is one; SNS's AWS managed key would silently drop every alarm notification.
  count = var.create_alarm_topic ? 1 : 0

  name              = "${var.name}-alarms"
  kms_master_key_id = local.use_kms ? local.kms_key_arn : null
  tags              = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dead_letter_queue_not_empty" {
  alarm_name          = "${var.name}-dead-letter-queue-not-empty"
  alarm_description   = "Scan events were dead-lettered: malformed, for images that are gone, or failing after every retry. Each message carries its reason; fix the cause, then redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  alarm_name          = "${var.name}-function-errors"
  alarm_description   = "Invocations failed as a whole (crash, timeout, bad configuration): the entire batch is retried. Single scan events that fail are reported per message and do not count here."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "oldest_message_age" {
  alarm_name          = "${var.name}-oldest-scan-event-age"
  alarm_description   = "The oldest scan event waiting in the queue is older than the threshold: consumers are falling behind, throttled, or retrying the same events."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.this.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.oldest_message_age_alarm_seconds
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# The function's Findings metric (EMF) by Severity, summed over the severities at or above the
# threshold (local.findings_alarm_severities).
resource "aws_cloudwatch_metric_alarm" "new_findings" {
  alarm_name          = "${var.name}-new-findings"
  alarm_description   = "New findings of severity ${var.findings_alarm_severity} or higher were logged in the last 5 minutes: image scans, and findings that became active under continuous scanning. Read them in the findings log groups (SUMMARY streams first) or the notification topic."
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = var.tags

  metric_query {
    id          = "new_findings"
    label       = "New findings, ${var.findings_alarm_severity} or higher"
    expression  = "SUM(METRICS())"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.findings_alarm_severities
    content {
      id          = lower(metric_query.value)
      return_data = false
      metric {
        namespace   = local.metrics_namespace
        metric_name = "Findings"
        dimensions  = { Severity = metric_query.value }
        period      = 300
        stat        = "Sum"
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "watched_vulnerability" {
  count = length(var.watched_vulnerabilities) > 0 ? 1 : 0

  alarm_name          = "${var.name}-watched-vulnerability-seen"
  alarm_description   = "A logged finding named a watched vulnerability in the last 5 minutes. The WatchedFindings metric by Vulnerability says which one; the findings log groups and the notification topic say where."
  namespace           = local.metrics_namespace
  metric_name         = "WatchedFindings"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = var.tags
}
