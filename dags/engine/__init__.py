"""Dagyard's DAG engine: plain Python over frozen dataclasses, with no Django and no Celery.

Services load a definition (``definition``), check it (``validation``), keep the ``Graph`` it
yields, and ask ``ready`` what to dispatch next and ``transitions`` whether a state change is
allowed. Keeping this layer pure lets it be tested one completion at a time and reused by the
loader, the admin, the CLI and the workers alike.
"""
