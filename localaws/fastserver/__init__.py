"""The fast front end of the local AWS, for the benchmark: an aiohttp endpoint in its own
process (``app``, started by ``process.FakeAwsProcess``) answering from the rule book, with
in-memory services (``ecr``, ``logs``, ``sqs``)."""
