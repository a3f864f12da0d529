"""Adapters for Mercator's state in AWS (DynamoDB, SQS, S3); each takes an injected boto3 client, made
with bounded timeouts and retries by ``aws_clients``."""
