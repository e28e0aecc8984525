"""``/v1/responses`` (placeholder: filled in by the Responses API work)."""

ROUTES: list = []
