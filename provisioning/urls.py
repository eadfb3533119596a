from django.urls import path

from provisioning import api, views

app_name = "provisioning"
urlpatterns = [
    path("deployments/", views.deployment_list, name="deployment-list"),
    path("deployments/<str:name>/", views.deployment_detail, name="deployment-detail"),
    path(
        "deployments/<str:name>/deprovision",
        views.deployment_deprovision,
        name="deployment-deprovision",
    ),
    path("api/deployments/", api.DeploymentList.as_view(), name="api-deployments"),
    path("api/deployments/<str:name>/", api.DeploymentDetail.as_view(), name="api-deployment"),
    path(
        "api/deployments/<str:name>/deprovision",
        api.DeploymentDeprovision.as_view(),
        name="api-deprovision",
    ),
]
