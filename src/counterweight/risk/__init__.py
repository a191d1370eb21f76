"""counterweight.risk."""
