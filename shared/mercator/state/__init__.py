"""Adapters for Mercator's state in AWS (DynamoDB, SQS); each takes an injected boto3 client."""
