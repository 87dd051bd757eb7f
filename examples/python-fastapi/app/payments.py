"""Client for the payments provider and the internal ledger service."""

import logging
import os

import httpx
import requests as rq

log = logging.getLogger(__name__)

PAYMENTS_URL = os.environ.get("PAYMENTS_URL", "https://payments.example.com")
LEDGER_URL = os.environ.get("LEDGER_URL", "http://ledger.internal:8080")


class PaymentsClient:
    def __init__(self, api_key: str):
        self.session = rq.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def charge(self, customer_id: str, amount_cents: int, idempotency_key: str) -> dict:
        resp = self.session.post(
            f"{PAYMENTS_URL}/v1/charges",
            json={"customer": customer_id, "amount": amount_cents},
            headers={"Idempotency-Key": idempotency_key},
            timeout=10,
        )
        resp.raise_for_status()
        return resp.json()

    def refund(self, charge_id: str) -> dict:
        # The session has no default timeout: this call can hang a worker forever.
        resp = self.session.post(f"{PAYMENTS_URL}/v1/charges/{charge_id}/refund")
        resp.raise_for_status()
        return resp.json()

    def customer(self, customer_id: str) -> dict:
        resp = self.session.get(f"{PAYMENTS_URL}/v1/customers/{customer_id}", timeout=5)
        return resp.json()


def post_ledger_entry(entry: dict) -> None:
    try:
        rq.post(f"{LEDGER_URL}/entries", json=entry, timeout=3).raise_for_status()
    except rq.RequestException:
        pass


async def exchange_rate(currency: str) -> float:
    async with httpx.AsyncClient(timeout=None) as client:
        resp = await client.get(f"https://rates.example.com/{currency}")
        resp.raise_for_status()
        return float(resp.json()["rate"])


def health() -> bool:
    try:
        rq.get(f"{LEDGER_URL}/health", timeout=2).raise_for_status()
        return True
    except rq.RequestException:
        return False
