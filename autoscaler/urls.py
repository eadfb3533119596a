from django.urls import path

from autoscaler import api, pool_api, views

app_name = "autoscaler"
urlpatterns = [
    path("metrics", api.metrics, name="metrics"),
    path("api/nodes/register", api.register, name="register"),
    path("api/heartbeat", api.heartbeat, name="heartbeat"),
    path("api/nodes/<int:node_id>/config", api.node_config, name="node-config"),
    path("api/pools", pool_api.PoolList.as_view(), name="pools"),
    path("api/pools/<int:pool_id>", pool_api.PoolDetail.as_view(), name="pool"),
    path("autoscaler/pools/", views.pool_list, name="pool-list"),
    path("autoscaler/pools/<int:pool_id>/", views.pool_detail, name="pool-detail"),
    path("autoscaler/nodes/", views.node_list, name="node-list"),
]
