"""ECR Findings Logger: Amazon ECR image-scan findings into CloudWatch Logs."""

__version__ = "0.1.0"
