"""Content-addressed blob stores: filesystem (default), memory (tests), S3-compatible."""
