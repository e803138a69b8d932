from django.urls import path

from reviews import api

app_name = "reviews"

urlpatterns = [
    path("api/v1/pulls/", api.PullRequestListApi.as_view(), name="pulls"),
    path("api/v1/reviews/", api.ReviewListApi.as_view(), name="reviews"),
]
