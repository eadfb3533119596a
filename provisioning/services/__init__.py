"""The only code that changes deployments: creation, the pipeline's steps, deprovision, resume."""
