"""The central sync service: store, ingest, HTTP API, back office."""
