#!/usr/bin/env python3
"""The join: starts only once file2 and file3 have both succeeded."""

import os

print(f"file4: file2 and file3 finished, closing run {os.environ.get('DAGYARD_RUN_ID', 'local')}")
print("file4: done")
