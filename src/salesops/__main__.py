"""`python -m salesops` runs the CLI."""

from salesops.cli.main import main

main()
