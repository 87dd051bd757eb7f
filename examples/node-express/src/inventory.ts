import axios from "axios";

// A shared client for the inventory service. No timeout: every request
// through it can wait forever.
export const inventory = axios.create({
  baseURL: process.env.INVENTORY_URL ?? "http://inventory:8080",
  headers: { "x-service": "storefront" },
});

const shipping = axios.create({ baseURL: process.env.SHIPPING_URL, timeout: 5_000 });

export async function reserve(sku: string, qty: number): Promise<string> {
  const { data } = await inventory.post("/reservations", { sku, qty });
  return data.id;
}

export async function quote(zip: string): Promise<number> {
  const { data } = await shipping.get(`/quotes/${zip}`);
  return data.cents;
}

export async function productFeed(url: string): Promise<unknown[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = await res.json();
  return body.items;
}

export async function notifyWarehouse(orderId: string): Promise<void> {
  try {
    await fetch(`${process.env.WAREHOUSE_URL}/orders/${orderId}`, {
      method: "POST",
      signal: AbortSignal.timeout(3_000),
    });
  } catch {}
}
