"""The egress guard against a real listener on loopback."""
