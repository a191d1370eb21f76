from counterweight.cli import run

run()
