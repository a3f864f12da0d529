"""The composition root: where adapters (boto3, httpx) meet the services, one factory per function."""
