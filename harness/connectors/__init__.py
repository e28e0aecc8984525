"""The reference connector stack (seeds 000, 001, 002, 003).

- image connectors with the three-tier fallback: :class:`OpenAITxt2ImgConnector`,
  :class:`OpenAIImg2ImgConnector` (:mod:`.image_connectors`, tiers in :mod:`.image_tiers`);
- image input normalisation: :func:`normalize_image_input` (:mod:`.image_input`);
- the connector registry from a service-mapping file: :class:`ConnectorRegistry`;
- the OpenAI-compatible health check: :func:`check_openai_compatible` (:mod:`.health`);
- resilient streaming: :class:`ResilientStream`, :class:`StreamPool`,
  :class:`StreamEventDebugger`, :class:`StreamMetrics`;
- the realtime voice client (seed 003): :class:`RealtimeVoiceClient` with
  :class:`ReconnectPolicy`, its result :class:`RealtimeSessionResult`, and
  :func:`check_realtime`.
"""

from .backoff import Backoff
from .health import HealthReport, StepVerdict, check_openai_compatible
from .image_connectors import OpenAIImageConnector, OpenAIImg2ImgConnector, OpenAITxt2ImgConnector
from .image_input import FetchLimits, ImageData, ImageInputError, normalize_image, normalize_image_input
from .image_requests import ImageJob
from .image_result import (
    BACKGROUND_STREAM,
    NO_PARTIAL_IMAGES,
    NON_STREAM,
    STREAM,
    TIERS,
    ImageGenerationError,
    ImageResult,
    PartialImage,
    TierFailure,
)
from .realtime_backoff import ReconnectPolicy
from .realtime_client import RealtimeGaveUp, RealtimeSessionError, RealtimeVoiceClient
from .realtime_health import RealtimeHealth, check_realtime
from .realtime_result import ConnectAttempt, RealtimeSessionResult
from .registry import ConnectorNotFoundError, ConnectorRegistry, ServiceMappingError
from .resilient_stream import Reconnect, ResilientStream, StreamGaveUp, StreamIncomplete, StreamRestarted
from .settings import ConnectorSettings
from .stream_debug import StreamDebugReport, StreamEventDebugger
from .stream_metrics import MetricsSnapshot, StreamMetrics
from .stream_pool import StreamPool

__all__ = [
    "BACKGROUND_STREAM",
    "NON_STREAM",
    "NO_PARTIAL_IMAGES",
    "STREAM",
    "TIERS",
    "Backoff",
    "ConnectAttempt",
    "ConnectorNotFoundError",
    "ConnectorRegistry",
    "ConnectorSettings",
    "FetchLimits",
    "HealthReport",
    "ImageData",
    "ImageGenerationError",
    "ImageInputError",
    "ImageJob",
    "ImageResult",
    "MetricsSnapshot",
    "OpenAIImageConnector",
    "OpenAIImg2ImgConnector",
    "OpenAITxt2ImgConnector",
    "PartialImage",
    "RealtimeGaveUp",
    "RealtimeHealth",
    "RealtimeSessionError",
    "RealtimeSessionResult",
    "RealtimeVoiceClient",
    "Reconnect",
    "ReconnectPolicy",
    "ResilientStream",
    "ServiceMappingError",
    "StepVerdict",
    "StreamDebugReport",
    "StreamEventDebugger",
    "StreamGaveUp",
    "StreamIncomplete",
    "StreamMetrics",
    "StreamPool",
    "StreamRestarted",
    "TierFailure",
    "check_openai_compatible",
    "check_realtime",
    "normalize_image",
    "normalize_image_input",
]
