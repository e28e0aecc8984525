"""``POST /v1/responses``: the request, validated like the real endpoint.

Every failure is OpenAI's 400 naming ``param`` (``input[2].role``, ``tools[0].partial_images``…).
Fields the mock does not act on (``include``, ``reasoning``, ``truncation``…) are accepted and
echoed back on the response object, as the real API does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..content import text_of
from . import params

MESSAGE_ROLES = ("user", "assistant", "system", "developer")
TOOL_TYPES = (
    "function",
    "file_search",
    "computer",
    "computer_use_preview",
    "web_search",
    "web_search_2025_08_26",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "mcp",
    "code_interpreter",
    "programmatic_tool_calling",
    "image_generation",
    "local_shell",
    "shell",
    "custom",
    "namespace",
    "tool_search",
    "apply_patch",
)
TOOL_CHOICE_TYPES = (
    "file_search",
    "web_search_preview",
    "computer",
    "computer_use_preview",
    "computer_use",
    "web_search_preview_2025_03_11",
    "image_generation",
    "code_interpreter",
)
IMAGE_SIZES = ("auto", "1024x1024", "1024x1536", "1536x1024")
IMAGE_QUALITIES = ("low", "medium", "high", "auto")
IMAGE_FORMATS = ("png", "webp", "jpeg")
IMAGE_BACKGROUNDS = ("transparent", "opaque", "auto")
TEXT_FORMATS = ("text", "json_schema", "json_object")
MIN_OUTPUT_TOKENS = 16


@dataclass(slots=True)
class ResponsesRequest:
    model: str
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    stream: bool = False
    background: bool = False
    store: bool = True
    max_output_tokens: int | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = "auto"
    text: dict[str, Any] = field(default_factory=lambda: {"format": {"type": "text"}})
    previous_response_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    parallel_tool_calls: bool = True
    temperature: float = 1.0
    top_p: float = 1.0
    echo: dict[str, Any] = field(default_factory=dict)  # other fields, returned as sent

    @property
    def text_format(self) -> dict[str, Any]:
        return self.text.get("format") or {"type": "text"}

    def ends_with_user(self) -> bool:
        """The input's last item is the user's message (not a tool's result or an assistant turn)."""
        if isinstance(self.input, str):
            return True
        last = self.input[-1] if self.input else {}
        return last.get("type") in (None, "message") and last.get("role") == "user"

    def last_user_text(self) -> str:
        if isinstance(self.input, str):
            return self.input
        for item in reversed(self.input):
            if item.get("role") == "user":
                return text_of(item.get("content"))
        return ""


ECHOED = (
    "include",
    "reasoning",
    "truncation",
    "service_tier",
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "max_tool_calls",
    "top_logprobs",
    "conversation",
    "prompt",
)


def parse_request(body: dict[str, Any]) -> ResponsesRequest:
    model = params.required(body, "model", str)
    raw_input = body.get("input")
    if raw_input is None:
        raise errors.missing_param("input")
    if isinstance(raw_input, list):
        _check_input_items(raw_input)
    elif not isinstance(raw_input, str):
        raise errors.invalid_type("input", "one of a string or array of input items", raw_input)
    instructions = params.optional(body, "instructions", str)
    stream = params.optional(body, "stream", bool, False)
    background = params.optional(body, "background", bool, False)
    store = params.optional(body, "store", bool, True)
    if background and not store:
        raise errors.invalid_value(
            "store", "Background responses must be stored: 'store' cannot be false when 'background' is true."
        )
    max_output_tokens = params.optional(body, "max_output_tokens", int)
    if max_output_tokens is not None and max_output_tokens < MIN_OUTPUT_TOKENS:
        raise errors.invalid_value(
            "max_output_tokens",
            "Invalid 'max_output_tokens': integer below "
            f"minimum value. Expected a value >= {MIN_OUTPUT_TOKENS}, but got "
            f"{max_output_tokens} instead.",
        )
    temperature = params.number_in(body, "temperature", 0, 2, default=1.0)
    top_p = params.number_in(body, "top_p", 0, 1, default=1.0)
    tools = params.optional(body, "tools", list, [])
    for i, tool in enumerate(tools):
        _check_tool(i, tool)
    tool_choice = _check_tool_choice(body.get("tool_choice"), tools)
    text = params.optional(body, "text", dict, {})
    text = {
        "format": _check_text_format(text.get("format")),
        **{k: v for k, v in text.items() if k != "format"},
    }
    previous = params.optional(body, "previous_response_id", str)
    metadata = params.optional(body, "metadata", dict, {})
    parallel = params.optional(body, "parallel_tool_calls", bool, True)
    echo = {k: body[k] for k in ECHOED if body.get(k) is not None}
    return ResponsesRequest(
        model=model,
        input=raw_input,
        instructions=instructions,
        stream=stream,
        background=background,
        store=store,
        max_output_tokens=max_output_tokens,
        tools=tools,
        tool_choice=tool_choice,
        text=text,
        previous_response_id=previous,
        metadata=metadata,
        parallel_tool_calls=parallel,
        temperature=temperature,
        top_p=top_p,
        echo=echo,
    )


def _check_input_items(items: list[Any]) -> None:
    for i, item in enumerate(items):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise errors.invalid_type(where, "an object", item)
        kind = item.get("type")
        if kind is not None and not isinstance(kind, str):
            raise errors.invalid_type(f"{where}.type", "a string", kind)
        if kind in (None, "message"):
            role = item.get("role")
            if role is None:
                raise errors.missing_param(f"{where}.role")
            if role not in MESSAGE_ROLES:
                raise errors.invalid_value(
                    f"{where}.role",
                    f"Invalid value: '{role}'. Supported values "
                    "are: 'assistant', 'system', 'developer', and 'user'.",
                )
            content = item.get("content")
            if content is None:
                raise errors.missing_param(f"{where}.content")
            if not isinstance(content, (str, list)):
                raise errors.invalid_type(f"{where}.content", "one of a string or array of objects", content)
        elif kind == "function_call_output":
            for name in ("call_id", "output"):
                if item.get(name) is None:
                    raise errors.missing_param(f"{where}.{name}")
        elif kind == "function_call":
            for name in ("call_id", "name", "arguments"):
                if item.get(name) is None:
                    raise errors.missing_param(f"{where}.{name}")


def _check_tool(i: int, tool: Any) -> None:
    where = f"tools[{i}]"
    if not isinstance(tool, dict):
        raise errors.invalid_type(where, "an object", tool)
    kind = tool.get("type")
    if kind is None:
        raise errors.missing_param(f"{where}.type")
    if kind not in TOOL_TYPES:
        quoted = ", ".join(f"'{t}'" for t in TOOL_TYPES)
        raise errors.invalid_value(
            f"{where}.type", f"Invalid value: '{kind}'. Supported values are: {quoted}."
        )
    if kind == "function":
        params.required(tool, "name", str, param=f"{where}.name")
        params.optional(tool, "parameters", dict, param=f"{where}.parameters")
    elif kind == "image_generation":
        n = params.optional(tool, "partial_images", int, 0, param=f"{where}.partial_images")
        if not 0 <= n <= 3:
            raise errors.invalid_value(
                f"{where}.partial_images",
                f"Invalid '{where}.partial_images': expected a value between 0 and 3, but got {n} instead.",
            )
        for name, allowed in (
            ("size", IMAGE_SIZES),
            ("quality", IMAGE_QUALITIES),
            ("output_format", IMAGE_FORMATS),
            ("background", IMAGE_BACKGROUNDS),
        ):
            value = params.optional(tool, name, str, param=f"{where}.{name}")
            if value is not None and value not in allowed:
                quoted = ", ".join(f"'{a}'" for a in allowed)
                raise errors.invalid_value(
                    f"{where}.{name}", f"Invalid value: '{value}'. Supported values are: {quoted}."
                )
        if tool.get("background") == "transparent" and tool.get("output_format") == "jpeg":
            raise errors.invalid_value(
                f"{where}.background",
                "Transparent background is not supported for the 'jpeg' output format. Use 'png' or 'webp'.",
            )


def _check_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> Any:
    if choice is None:
        return "auto"
    without_tools = "Tool choice 'required' must be specified with 'tools' parameter."
    if params.tool_choice_mode(choice, bool(tools), without_tools) is not None:
        return choice
    kind = choice.get("type")
    if kind == "function":
        name = params.required(choice, "name", str, param="tool_choice.name")
        if not any(t.get("type") == "function" and t.get("name") == name for t in tools):
            raise errors.invalid_value(
                "tool_choice",
                f"Tool choice 'function' not found in 'tools' parameter (no function named '{name}').",
            )
    elif kind == "allowed_tools":
        _, listed = params.allowed_tools(choice, "tool_choice")
        for tool in listed:
            _check_tool_choice({**tool, "type": tool.get("type")}, tools)  # each must be offered
    elif kind in TOOL_CHOICE_TYPES:
        if not any(t.get("type") == kind for t in tools):
            raise errors.invalid_value("tool_choice", f"Tool choice '{kind}' not found in 'tools' parameter.")
    elif kind is None:
        raise errors.missing_param("tool_choice.type")
    return choice


def _check_text_format(fmt: Any) -> dict[str, Any]:
    if fmt is None:
        return {"type": "text"}
    if not isinstance(fmt, dict):
        raise errors.invalid_type("text.format", "an object", fmt)
    kind = fmt.get("type")
    if kind not in TEXT_FORMATS:
        raise errors.invalid_value(
            "text.format.type",
            f"Invalid value: '{kind}'. Supported values are: 'text', 'json_schema', and 'json_object'.",
        )
    if kind == "json_schema":
        params.required(fmt, "name", str, param="text.format.name")
        params.required(fmt, "schema", dict, param="text.format.schema")
    return fmt
