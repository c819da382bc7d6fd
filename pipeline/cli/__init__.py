"""The operators' command line: ``ecr-findings`` (a typer app; logic lives in pipeline.ops)."""
