"""counterweight.data."""
