"""counterweight.backtest."""
