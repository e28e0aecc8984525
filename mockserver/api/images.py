"""``/v1/images/*`` (placeholder: filled in by the Images API work)."""

ROUTES: list = []
