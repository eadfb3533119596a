from django.urls import path

from dags import views

app_name = "dags"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dags/<slug:name>/", views.dag_detail, name="dag"),
    path("dags/<slug:name>/trigger/", views.dag_trigger, name="dag-trigger"),
    path("dags/<slug:name>/start/", views.dag_start, name="dag-start"),
    path("dags/<slug:name>/stop/", views.dag_stop, name="dag-stop"),
    path("dags/<slug:name>/clone/", views.dag_clone, name="dag-clone"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/status.json", views.run_status_json, name="run-status"),
    path("runs/<int:run_id>/log.json", views.run_log_json, name="run-log"),
    path("runs/<int:run_id>/nodes/<path:node>/log.json", views.node_log_json, name="node-log"),
    path("runs/<int:run_id>/cancel/", views.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/retry/", views.run_retry, name="run-retry"),
    path("workers/", views.workers, name="workers"),
]
