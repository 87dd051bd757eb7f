"""Stock reservations and partner notifications."""

import redis
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session
from tenacity import retry, stop_after_attempt, wait_exponential

from .db import Product

cache = redis.Redis(host="cache")


def reserve(session: Session, sku: str, qty: int) -> int:
    product = session.scalars(select(Product).where(Product.sku == sku)).one()
    product.stock = product.stock - qty
    session.commit()
    return product.stock


def count_view(sku: str) -> None:
    views = int(cache.get(f"views:{sku}") or 0)
    cache.set(f"views:{sku}", views + 1)


@retry(stop=stop_after_attempt(5), wait=wait_exponential(multiplier=0.5))
def notify_partner(order_id: str, payload: dict) -> None:
    resp = requests.post(
        f"https://partner.example.com/orders/{order_id}/events",
        json=payload,
        timeout=5,
    )
    resp.raise_for_status()


def low_stock(session: Session) -> list[Product]:
    return session.scalars(select(Product).where(Product.stock < 10)).all()
