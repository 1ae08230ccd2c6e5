"""The deterministic demo-company generator."""
