"""Plain models, values and errors shared by every layer: no I/O, no boto3, no httpx."""
