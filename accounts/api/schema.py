"""OpenAPI descriptions of our authentication classes (drf-spectacular extensions)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class JWTScheme(SimpleJWTScheme):
    target_class = "accounts.api.authentication.JWTAuthentication"
    name = "jwtAuth"


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
