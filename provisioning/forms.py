"""The form that starts a deployment from the Deployments page; the service does the checking."""

from __future__ import annotations

from django import forms


class DeploymentForm(forms.Form):
    repo_url = forms.CharField(label="Repository URL", max_length=2000)
    name = forms.CharField(label="Name", max_length=50, required=False)
    node_type = forms.CharField(label="Node type", max_length=100, required=False)
    duration_hours = forms.IntegerField(label="Lease hours", required=False)
    dry_run = forms.BooleanField(label="Dry run (plan only)", required=False)
