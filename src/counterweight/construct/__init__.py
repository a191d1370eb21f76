"""counterweight.construct."""
