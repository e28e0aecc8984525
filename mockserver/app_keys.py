"""The application's keys: what the app and each request carry, in a leaf module that the
app, the API modules and the admin API all import (aiohttp keeps its own in ``helpers``)."""

from __future__ import annotations

from aiohttp import web

from .clock import Clock
from .config import MockConfig
from .context import RequestContext
from .delivery import Delivery
from .journal import Journal
from .scenario.engine import ScenarioEngine

CONFIG = web.AppKey("config", MockConfig)
CLOCK = web.AppKey("clock", Clock)
JOURNAL = web.AppKey("journal", Journal)
ENGINE = web.AppKey("engine", ScenarioEngine)
DELIVERY = web.AppKey("delivery", Delivery)
STATE = web.AppKey("state", dict)  # per-resource stores (responses, background jobs, ...)
SHARED_DB = "shared_db"  # app[STATE][SHARED_DB]: the workers' database (serve --workers N)

CTX = web.RequestKey("mock_ctx", RequestContext)
OPENAI_VERSION = "2020-10-01"
