"""schemathesis hooks for scripts/fuzz (named by the schemathesis.toml it writes)."""

import schemathesis

# A tus PATCH body is raw bytes, sent as application/offset+octet-stream (tus 1.0.0 core).
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
