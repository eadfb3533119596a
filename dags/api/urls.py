from django.urls import path

from dags.api import views

urlpatterns = [
    path("dags/", views.DagList.as_view(), name="api-dags"),
    path("dags/<slug:name>/", views.DagDetail.as_view(), name="api-dag"),
    path("dags/<slug:name>/runs/", views.DagRuns.as_view(), name="api-dag-runs"),
    path("dags/<slug:name>/pause/", views.DagPause.as_view(), name="api-dag-pause"),
    path("dags/<slug:name>/resume/", views.DagResume.as_view(), name="api-dag-resume"),
    path("dags/<slug:name>/clone/", views.DagClone.as_view(), name="api-dag-clone"),
    path("runs/", views.RunList.as_view(), name="api-runs"),
    path("runs/<int:run_id>/", views.RunDetail.as_view(), name="api-run"),
    path("runs/<int:run_id>/cancel/", views.RunCancel.as_view(), name="api-run-cancel"),
    path("runs/<int:run_id>/retry/", views.RunRetry.as_view(), name="api-run-retry"),
    path("runs/<int:run_id>/log/", views.RunLog.as_view(), name="api-run-log"),
    path("runs/<int:run_id>/nodes/", views.NodeRunList.as_view(), name="api-run-nodes"),
    path(
        "runs/<int:run_id>/nodes/<str:node_id>/log/", views.NodeLog.as_view(), name="api-node-log"
    ),
    path("queues/", views.Queues.as_view(), name="api-queues"),
    path("workers/", views.Workers.as_view(), name="api-workers"),
]
