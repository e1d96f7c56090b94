"""
A fast path for the hottest request in the product: HLS segments (and signed images).

They are authorised by their signed token alone (no session, no database), so the rest of
the middleware stack — sessions, CSRF, auth, OTP, messages, CSP, rate limits — has nothing
to add. This middleware sits right after SecurityMiddleware (HTTPS redirect and HSTS still
apply) and answers them directly through the same view functions the URLconf uses, like
WhiteNoise does for static files (bench/segments measures the difference).
"""

import re

from django.http import Http404, HttpResponseNotFound

from .api import views

_SEGMENT = re.compile(
    r"^/api/v1/videos/(?P<video_uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"/hls/(?P<rung>\d{3,4}p|audio)/(?P<segment>seg_\d{5}\.ts)$"
)
_IMAGE = re.compile(
    r"^/api/v1/videos/(?P<video_uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"/media/(?P<name>poster\.jpg|storyboard\.jpg)$"
)


class MediaFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD"):
            match = _SEGMENT.match(request.path_info)
            view = views.hls_segment
            if match is None:
                match = _IMAGE.match(request.path_info)
                view = views.video_image
            if match is not None:
                try:
                    return view(request, **match.groupdict())
                except Http404:
                    return HttpResponseNotFound("Not found\n", content_type="text/plain")
        return self.get_response(request)
