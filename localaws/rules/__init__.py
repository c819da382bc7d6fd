"""The rule book of the local AWS: AWS behaviour written once, as plain models (no HTTP).

- ``ecr``: seeded image scans, their statuses, DescribeImageScanFindings pages and errors.
- ``inspector2``: Inspector's findings, ListFindings filter criteria, sorting and pages.
- ``logs``: CloudWatch Logs names, PutLogEvents limits, and the timestamps it rejects.
- ``s3``: which REST call an S3 request is, and upload checksums (moto stores any body).
- ``sns``: what SNS Publish refuses (sizes, subjects, message structure, attributes).
- ``faults``: scheduled error answers (throttles, 5xx, hangs), consumed call by call.
- ``errors``: the AWS error the rules raise.

Two front ends serve it: ``localaws.motoserver`` (moto behind a middleware, for tests and the
demo) and ``localaws.fastserver`` (a fast endpoint in its own process, for the benchmark).
"""
