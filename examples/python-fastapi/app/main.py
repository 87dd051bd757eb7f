"""Checkout API."""

import asyncio
import logging

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from .payments import PaymentsClient, exchange_rate, post_ledger_entry

app = FastAPI()
log = logging.getLogger("checkout")
payments = PaymentsClient(api_key="sk_test")


class Order(BaseModel):
    customer_id: str
    amount_cents: int
    currency: str = "usd"
    idempotency_key: str


async def audit(event: str, order: Order) -> None:
    log.info("audit %s %s", event, order.customer_id)


@app.post("/orders")
async def create_order(order: Order):
    rate = await exchange_rate(order.currency)
    charge = payments.charge(order.customer_id, int(order.amount_cents * rate), order.idempotency_key)
    post_ledger_entry({"charge": charge["id"], "amount": order.amount_cents})
    asyncio.create_task(audit("order.created", order))
    return {"charge": charge["id"]}


@app.post("/orders/{charge_id}/refund")
async def refund(charge_id: str):
    try:
        return payments.refund(charge_id)
    except Exception as exc:
        log.exception("refund failed for %s", charge_id)
        raise HTTPException(status_code=502, detail="refund failed") from exc
