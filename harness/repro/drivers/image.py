"""``stack.drive: txt2img | img2img``: an image connector with its three-tier fallback (seed 000).

``stack.input``: ``prompt``; ``image`` for img2img: a string passed as is (``"{{image}}"``, a URL,
base64...) or ``{png: base64}`` / ``{png: data_url}`` for a real PNG made here. ``stack.settings``:
``tiers``, ``partial_images``, ``stream_api``, ``sdk_max_retries``, ``backoff_initial_ms``,
``max_resumes``. Facts under ``connector``: success, tier, job_id, partial_images, resumes,
error, failures (each tier's failure, described), failed_tiers, tier_errors, tier_job_ids, previews (progress callbacks),
duplicate_previews (a partial image shown twice: must be 0), processing_time_ms.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.connectors import (
    Backoff,
    ConnectorSettings,
    ImageJob,
    OpenAIImg2ImgConnector,
    OpenAITxt2ImgConnector,
    PartialImage,
)
from mockserver.picture import render_b64

from ..context import RunContext, StackRun
from ..scenario_file import ScenarioFileError

CONNECTORS = {"txt2img": OpenAITxt2ImgConnector, "img2img": OpenAIImg2ImgConnector}
DEFAULTS = {"backoff_initial_ms": 1000, "max_resumes": 3, "sdk_max_retries": 2}


def input_image(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("png") in ("base64", "data_url"):
        b64 = render_b64(0, "repro-input", "1024x1024")
        return b64 if value["png"] == "base64" else f"data:image/png;base64,{b64}"
    raise ScenarioFileError(
        f"{where}: stack.input.image: expected a string or {{png: base64 | data_url}}, got {value!r}"
    )


def connector_settings(ctx: RunContext) -> ConnectorSettings:
    s = ctx.settings(DEFAULTS)
    backoff = Backoff(
        initial_ms=s["backoff_initial_ms"],
        max_ms=8 * s["backoff_initial_ms"],
        max_retries=int(s["max_resumes"]),
    )
    options: dict[str, Any] = {k: s[k] for k in ("partial_images", "stream_api") if k in s}
    if "tiers" in s:
        options["tiers"] = tuple(s["tiers"])
    return ConnectorSettings(
        api_key="sk-repro",
        base_url=ctx.mock.base_url,
        backoff=backoff,
        sdk_max_retries=int(s["sdk_max_retries"]),
        **options,
    )


async def run(ctx: RunContext) -> StackRun:
    inp, drive = ctx.input, ctx.scenario.drive
    image = input_image(inp.get("image"), str(ctx.scenario.path))
    previews: list[PartialImage] = []
    connector = CONNECTORS[drive](settings=connector_settings(ctx))
    job = ImageJob(prompt=inp.get("prompt", "a red fox in the snow"), image=image)
    try:
        result = await connector.process(job, progress=previews.append)
    finally:
        await connector.client.close()
    shown = Counter((p.tier, p.index) for p in previews)
    lines = [f"{type(connector).__name__} with tiers {', '.join(connector.settings.tiers)}"]
    lines += [f"tier failed: {f.describe()}" for f in result.failures]
    lines += [
        f"preview: partial image {p.index} from {p.tier} (job {p.job_id}, seq {p.sequence_number})"
        for p in previews
    ]
    lines.append(f"result: {result.to_dict()}")
    facts = {
        "success": result.success,
        "tier": result.tier,
        "job_id": result.openai_job_id,
        "partial_images": result.partial_images,
        "resumes": result.resumes,
        "error": result.error,
        "failures": [f.describe() for f in result.failures],
        "failed_tiers": [f.tier for f in result.failures],
        "tier_errors": [f.error for f in result.failures],
        "tier_job_ids": [f.job_id for f in result.failures],
        "previews": len(previews),
        "duplicate_previews": sum(n - 1 for n in shown.values()),
        "image": bool(result.image_b64),
        "processing_time_ms": round(result.processing_time_ms),
    }
    return StackRun({"connector": facts}, lines)
