variable "region" {
  description = "Region to deploy to (the registries whose scans are logged)."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name of the deployment."
  type        = string
  default     = "ecr-findings-logger"
}

variable "package_filename" {
  description = "The zip built by `make package` for var.architecture."
  type        = string
  default     = "../../../../dist/ecr-findings-logger-arm64.zip"
}

variable "architecture" {
  description = "arm64 or x86_64, as the zip was built."
  type        = string
  default     = "arm64"
}

variable "alarm_email" {
  description = "Address to subscribe to the alarm topic (confirm the e-mail AWS sends)."
  type        = string
  default     = null
}

variable "findings_email" {
  description = "Address to subscribe to the findings topic (confirm the e-mail AWS sends)."
  type        = string
  default     = null
}

variable "watched_vulnerabilities" {
  description = "Vulnerability ids to watch and alarm on."
  type        = list(string)
  default     = ["CVE-2021-44228"]
}

variable "archive_bucket_name" {
  description = "Name of the archive bucket to create (null: a generated name)."
  type        = string
  default     = null
}

variable "archive_query_results_location" {
  description = "S3 location (ending in /) of the archive workgroup's query results, outside the archive bucket (null: no workgroup)."
  type        = string
  default     = null
}
