"""counterweight.measure."""
