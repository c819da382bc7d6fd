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
