#!/usr/bin/env python3
"""First node of the four-file example: nothing waits before it, two nodes wait for it.

The scripts only print, so the example shows Dagyard's order and parallelism (file2 and file3
overlap, file4 starts after both) and the environment every node is given, without any setup.
"""

import os
import platform

print(f"file1: start of run {os.environ.get('DAGYARD_RUN_ID', 'local')}")
print(f"file1: python {platform.python_version()} on {platform.system()}")
print("file1: done, file2 and file3 may start")
