"""The API fakes, one module per OpenAI resource. Each parses and validates like OpenAI does and
builds a :class:`~mockserver.reply.Reply`; faults and delivery happen elsewhere."""
