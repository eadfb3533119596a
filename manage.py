#!/usr/bin/env python
"""Django's command-line utility for Dagyard; the same as the `dagyard` command."""

from orchestrator.cli import main

if __name__ == "__main__":
    main()
