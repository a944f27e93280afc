"""Pipeline tests: run `_dev/test/pipeline` cases through the data stream's ingest pipelines."""
