"""counterweight.report."""
