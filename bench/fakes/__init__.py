"""In-memory service state behind the benchmark's fake AWS endpoint (no HTTP here)."""
