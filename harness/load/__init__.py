"""Load runs: stream measurements, samples, targets, and the processes a run needs (Locust included).

Nothing here imports Locust: the locustfile (``loadtests/locustfile.py``) runs in Locust's own
processes and uses the pure pieces (:mod:`servekit.sse`, :mod:`.stream_watch`, :mod:`.samples`).
"""
