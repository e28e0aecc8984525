"""Running aiohttp servers, shared by the mock and the reference gateway (which must not know
each other): the event loop and the heap of a server process (:mod:`.runtime`), and an app
served on a loopback port from a background thread (:mod:`.threaded`)."""
