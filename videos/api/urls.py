"""
The videos API. ``videos/`` itself (GET list/search, POST upload) is routed by library.api.urls:
its view, library's VideoListApi, lists through library.search and uploads as VideoListCreateApi.
"""

from django.urls import path

from . import tus, views

urlpatterns = [
    path("videos/<uuid:video_uuid>/", views.VideoDetailApi.as_view(), name="video"),
    path("videos/<uuid:video_uuid>/related/", views.VideoRelatedApi.as_view(), name="video_related"),
    path("videos/<uuid:video_uuid>/publish/", views.VideoPublishApi.as_view(), name="video_publish"),
    path("videos/<uuid:video_uuid>/reject/", views.VideoRejectApi.as_view(), name="video_reject"),
    path("videos/<uuid:video_uuid>/archive/", views.VideoArchiveApi.as_view(), name="video_archive"),
    path("videos/<uuid:video_uuid>/resubmit/", views.VideoResubmitApi.as_view(), name="video_resubmit"),
    path("videos/<uuid:video_uuid>/reprocess/", views.VideoReprocessApi.as_view(), name="video_reprocess"),
    path("videos/<uuid:video_uuid>/poster/", views.VideoPosterApi.as_view(), name="video_poster"),
    path("videos/<uuid:video_uuid>/replacement/", views.VideoReplacementApi.as_view(), name="video_replacement"),
    path("videos/<uuid:video_uuid>/hls/master.m3u8", views.HlsMasterApi.as_view(), name="hls_master"),
    path("videos/<uuid:video_uuid>/hls/key", views.hls_key, name="hls_key"),
    path("videos/<uuid:video_uuid>/hls/<str:rung>/index.m3u8", views.hls_variant, name="hls_variant"),
    path("videos/<uuid:video_uuid>/hls/<str:rung>/<str:segment>", views.hls_segment, name="hls_segment"),
    path("videos/<uuid:video_uuid>/media/<str:name>", views.video_image, name="video_image"),
    path("uploads/", tus.UploadCollectionApi.as_view(), name="uploads"),
    path("uploads/<uuid:upload_id>/", tus.UploadResourceApi.as_view(), name="upload"),
    path("tags/", views.TagListApi.as_view(), name="tags"),
    path("categories/", views.CategoryListApi.as_view(), name="categories"),
    path("surgeons/", views.SurgeonListApi.as_view(), name="surgeons"),
]
