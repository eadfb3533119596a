"""The images a dry run chooses from, since a dry run asks the cloud nothing.

These are the CC-* image names Chameleon-style sites publish. A real deployment always chooses
from the cloud's own list instead; a plan made from this one says so.
"""

from __future__ import annotations

from provisioning.ai.schemas import OfferedImage

DRY_RUN_IMAGES: tuple[OfferedImage, ...] = (
    OfferedImage(name="CC-Ubuntu24.04", created_at="2025-01-01T00:00:00Z"),
    OfferedImage(name="CC-Ubuntu24.04-CUDA", created_at="2025-01-01T00:00:00Z"),
    OfferedImage(name="CC-Ubuntu22.04", created_at="2024-05-01T00:00:00Z"),
    OfferedImage(name="CC-Ubuntu22.04-CUDA", created_at="2024-06-01T00:00:00Z"),
    OfferedImage(name="CC-Ubuntu20.04", created_at="2024-01-01T00:00:00Z"),
    OfferedImage(name="CC-Ubuntu20.04-CUDA", created_at="2024-02-01T00:00:00Z"),
    OfferedImage(name="CC-CentOS8-stream", created_at="2023-01-01T00:00:00Z"),
)
DRY_RUN_IMAGES_NOTE = "chosen from Dagyard's list of CC-* images (a dry run asks the cloud nothing)"
