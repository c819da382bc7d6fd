"""The consumer's AWS adapters (aioboto3): the only modules of the handler's path that import
aioboto3 or botocore, and where AWS errors become our retryable or permanent ones. The CLI's
synchronous boto3 calls live in ``pipeline.ops``, which shares ``aws.errors`` for error codes."""
