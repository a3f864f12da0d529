"""The Integrations API's request and response shapes, its request checks and its OpenAPI document."""
