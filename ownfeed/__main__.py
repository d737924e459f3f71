"""`python -m ownfeed` runs the CLI."""

from ownfeed.cli import main

main()
