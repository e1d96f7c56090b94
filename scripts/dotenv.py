"""Write a development .env with a fresh SECRET_KEY if there is none (never committed)."""

import secrets
import sys
from pathlib import Path

path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
if path.exists():
    sys.exit(0)
path.write_text(
    "# Generated for development by `make`; not committed. See .env.example for every setting.\n"
    "DJANGO_ENV=development\n"
    f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
)
path.chmod(0o600)
print(f"Wrote {path} with a new SECRET_KEY.")
