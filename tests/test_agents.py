"""The ``openai-agents`` package runs agents against the mock's Responses API, streamed."""

from __future__ import annotations

import json

from agents import Agent, ModelSettings, RunConfig, Runner, function_tool
from agents.models.openai_responses import OpenAIResponsesModel

NO_TRACING = RunConfig(tracing_disabled=True)


def agent_on(aclient, **kwargs) -> Agent:
    return Agent(
        name="assistant",
        instructions="You answer briefly.",
        model=OpenAIResponsesModel(model="gpt-4o", openai_client=aclient),
        **kwargs,
    )


async def test_run_streamed_gets_the_final_output(aclient):
    result = Runner.run_streamed(agent_on(aclient), "Say hello", run_config=NO_TRACING)
    deltas, kinds = [], set()
    async for event in result.stream_events():
        kinds.add(event.type)
        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
            deltas.append(event.data.delta)
    direct = await aclient.responses.create(model="gpt-4o", input="Say hello")
    assert result.is_complete and result.final_output == "".join(deltas) == direct.output_text
    assert {"raw_response_event", "run_item_stream_event"} <= kinds


async def test_run_streamed_calls_a_tool_and_answers_after_it(aclient):
    calls = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return json.dumps({"city": city, "sky": "clear"})

    agent = agent_on(aclient, tools=[get_weather], model_settings=ModelSettings(tool_choice="required"))
    result = Runner.run_streamed(agent, "Weather in Paris?", run_config=NO_TRACING)
    items = [
        event.item.type async for event in result.stream_events() if event.type == "run_item_stream_event"
    ]
    assert len(calls) == 1 and isinstance(calls[0], str)
    assert items[:2] == ["tool_call_item", "tool_call_output_item"] and items[-1] == "message_output_item"
    assert isinstance(result.final_output, str) and result.final_output
    assert len(result.raw_responses) == 2  # the tool call, then the answer with the tool's output as input
