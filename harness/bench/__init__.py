"""Benchmarks (``make bench``): gateway overhead, mock throughput, timing fidelity, held streams."""
