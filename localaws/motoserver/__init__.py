"""The moto front end of the local AWS, for tests and the demo: moto's server in a thread of
this process, behind a middleware that answers from the rule book what moto does not emulate
(ECR findings and their pages, CloudWatch Logs limits and rejected timestamps, faults)."""
