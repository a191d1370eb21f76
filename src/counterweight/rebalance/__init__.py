"""counterweight.rebalance."""
