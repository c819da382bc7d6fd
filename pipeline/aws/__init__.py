"""AWS adapters: the only modules that import aioboto3/botocore."""
