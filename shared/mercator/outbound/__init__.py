"""What Mercator sends out when a change fires a trigger: workflow actions and EventBridge events."""
