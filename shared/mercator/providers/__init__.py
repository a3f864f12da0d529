"""Provider I/O: the HTTP client, pagination, rate limiting and retries."""
