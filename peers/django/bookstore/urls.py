from django.urls import include, path

urlpatterns = [path("", include("catalog.urls"))]

handler400 = "catalog.api.bad_request"
handler404 = "catalog.api.not_found"
handler500 = "catalog.api.server_error"
