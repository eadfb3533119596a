"""OpenStack operations a deployment needs, over an openstacksdk connection (no Django here)."""
