"""Deployment: the CloudFormation template, the Terraform module and the Lambda packager."""
