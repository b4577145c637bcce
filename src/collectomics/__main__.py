"""``python -m collectomics`` runs the command-line interface."""

from collectomics.cli import main

main()
