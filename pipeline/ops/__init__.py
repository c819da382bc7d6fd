"""What the operators' CLI does, separate from how it is shown.

Each module takes boto3 clients and plain values and returns plain data; progress is reported
through callbacks so that the CLI can draw bars and tests can count.
"""
