"""What a call cost, from public per-million-token prices (USD)."""

from __future__ import annotations

# model -> (input, output) USD per 1M tokens
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o3": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
}


def cost_usd(model: str, tokens_in: int, tokens_out: int) -> float | None:
    """Cost of a call, or None for a model without a known price (dated snapshots use their base)."""
    price = PRICES.get(model)
    if price is None:
        base = next((m for m in sorted(PRICES, key=len, reverse=True) if model.startswith(m + "-")), None)
        price = PRICES.get(base) if base else None
    if price is None:
        return None
    return round((tokens_in * price[0] + tokens_out * price[1]) / 1_000_000, 12)
