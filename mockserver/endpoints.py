"""The mock's endpoint names, written once: what a scenario's ``match.endpoint`` names, what the
journal and ``/_mock/metrics`` record, what each API module passes to ``plan``. A leaf module.

A new endpoint is its API module in :mod:`mockserver.api` (which imports its name from here) and
its name below, so scenario files may match it.
"""

from __future__ import annotations

MODELS = "models"
CHAT_COMPLETIONS = "chat.completions"
RESPONSES = "responses"
RESPONSES_RETRIEVE = "responses.retrieve"
RESPONSES_CANCEL = "responses.cancel"
IMAGES_GENERATIONS = "images.generations"
IMAGES_EDITS = "images.edits"
EMBEDDINGS = "embeddings"
REALTIME = "realtime"

ENDPOINTS = (
    MODELS,
    CHAT_COMPLETIONS,
    RESPONSES,
    RESPONSES_RETRIEVE,
    RESPONSES_CANCEL,
    IMAGES_GENERATIONS,
    IMAGES_EDITS,
    EMBEDDINGS,
    REALTIME,
)
