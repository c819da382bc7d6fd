"""The rule book of the local AWS: AWS behaviour written once, as plain models (no HTTP).

- ``ecr``: seeded image scans, their statuses, DescribeImageScanFindings pages and errors.
- ``logs``: CloudWatch Logs names, PutLogEvents limits, and the timestamps it rejects.
- ``sns``: what SNS Publish refuses (sizes, subjects, message structure, attributes).
- ``faults``: scheduled error answers (throttles, 5xx, hangs), consumed call by call.
- ``errors``: the AWS error the rules raise.

Two front ends serve it: ``localaws.motoserver`` (moto behind a middleware, for tests and the
demo) and ``localaws.fastserver`` (a fast endpoint in its own process, for the benchmark).
"""
