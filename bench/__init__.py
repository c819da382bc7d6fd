"""`make bench`: the consumer's handler against the AWS sample's algorithm, on a fake endpoint."""
