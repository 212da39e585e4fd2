"""`python -m tabrl.cli` runs the CLI."""

from tabrl.cli import main

main()
