"""Signals other apps may listen to; accounts imports no app above it (DESIGN §9)."""

from django.dispatch import Signal

# Sent by ``accounts.services.tokens_revoke`` after it voids a user's tokens (``user_id``).
# videos.revocation listens so that this process stops serving that user's signed media at once.
tokens_revoked = Signal()
