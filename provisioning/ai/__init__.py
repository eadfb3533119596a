"""The four provisioning decisions: asked of a model, checked, and backed by deterministic rules."""
