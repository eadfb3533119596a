"""Forms that take DAG definitions from people: validated exactly as the folder loader does."""

from __future__ import annotations

import yaml
from django import forms

from dags.engine.definition import DagDefinition
from dags.models import Dag
from dags.services.definitions import SubmissionRefused, submitted_definition


class DagDefinitionForm(forms.ModelForm):
    definition_text = forms.CharField(
        label="Definition (YAML or JSON)",
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "class": "vLargeTextField"}),
        help_text="The same format as the files in the workflow folder.",
    )
    folder = forms.CharField(
        required=False,
        help_text="Where the node scripts live; empty means <workflow folder>/<name>.",
    )

    class Meta:
        model = Dag
        fields = ["folder", "is_paused"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["definition_text"].initial = yaml.safe_dump(
                self.instance.definition, sort_keys=False, allow_unicode=True
            )
        self.definition: DagDefinition | None = None

    def clean(self) -> dict:
        cleaned = super().clean()
        text = cleaned.get("definition_text")
        if not text:
            return cleaned
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            self.add_error("definition_text", " ".join(str(error).split()))
            return cleaned
        try:
            self.definition = submitted_definition(
                data, folder=cleaned.get("folder") or None, name=self.instance.name or None
            )
        except SubmissionRefused as refusal:
            field = "folder" if refusal.field == "folder" else "definition_text"
            for problem in refusal.problems:
                self.add_error(field, problem)
        return cleaned
