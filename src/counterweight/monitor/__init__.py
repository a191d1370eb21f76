"""counterweight.monitor."""
